using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Purser.Gateway.Errors;

namespace Purser.Gateway.Validation;

/// <summary>
/// Checks a JSON body for what would make the gateway and the provider read it differently, or make the gateway
/// throw later: invalid UTF-8, escaped lone surrogates (<c>"\ud800"</c>), duplicate names in any object, depth past
/// the limit. It runs before admission on every body that the fast scan did not already vouch for, so bad bytes are a
/// 400 with nothing held (one <see cref="Utf8JsonReader"/> pass, no allocation for ordinary bodies).
/// </summary>
internal static class JsonBodyCheck
{
    public const int MaxDepth = 64;

    /// <summary>Objects with more names than this use a hash set; smaller ones compare in place.</summary>
    private const int LinearNames = 16;

    public static GatewayError? Check(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxDepth, CommentHandling = JsonCommentHandling.Disallow });

        // Name hashes of every open object, in one list; each open object's names start at its mark.
        var hashes = new List<int>(32);
        var marks = new Stack<(int Start, HashSet<int>? Wide)>(8);
        char[]? scratch = null;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        marks.Push((hashes.Count, null));
                        break;
                    case JsonTokenType.EndObject:
                        var (opened, _) = marks.Pop();
                        hashes.RemoveRange(opened, hashes.Count - opened);
                        break;
                    case JsonTokenType.PropertyName:
                        if (!TryText(ref reader, ref scratch, out var name))
                        {
                            return Invalid("a property name is not valid UTF-8 or holds a lone surrogate escape.");
                        }

                        // Process-seeded hashes: a collision can only refuse the request that made it.
                        var hash = string.GetHashCode(name, StringComparison.Ordinal);
                        if (Seen(hashes, marks, hash))
                        {
                            return Invalid($"the name '{Shorten(name)}' appears twice in one object; providers read duplicates differently, so the gateway refuses them.") with { Param = Shorten(name) };
                        }

                        break;
                    case JsonTokenType.String:
                        if (!TryText(ref reader, ref scratch, out _))
                        {
                            return Invalid("a string is not valid UTF-8 or holds a lone surrogate escape.") with { Param = NameBefore(body, reader.TokenStartIndex) };
                        }

                        break;
                    default:
                        break;
                }
            }
        }
        catch (JsonException ex)
        {
            return new GatewayError(GatewayErrorCode.InvalidJson, $"The request body is not valid JSON: {ex.Message}");
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<char>.Shared.Return(scratch);
            }
        }

        return null;
    }

    /// <summary>
    /// The token's text, unescaped and validated; plain ASCII is not copied. The span is only valid until the next call.
    /// </summary>
    private static bool TryText(ref Utf8JsonReader reader, ref char[]? scratch, out ReadOnlySpan<char> text)
    {
        text = default;
        var raw = reader.ValueSpan;
        if (!reader.ValueIsEscaped && Ascii.IsValid(raw))
        {
            // Hash the ASCII bytes widened, so an escaped spelling of the same name hashes the same.
            EnsureScratch(ref scratch, raw.Length);
            var written = Encoding.ASCII.GetChars(raw, scratch);
            text = scratch.AsSpan(0, written);
            return true;
        }

        if (!reader.ValueIsEscaped && !Utf8.IsValid(raw))
        {
            return false;
        }

        EnsureScratch(ref scratch, raw.Length);
        try
        {
            var length = reader.CopyString(scratch);
            text = scratch.AsSpan(0, length);
            return true;
        }
        catch (InvalidOperationException)
        {
            // The reader refuses invalid UTF-8 and unpaired surrogate escapes here.
            return false;
        }
    }

    private static void EnsureScratch(ref char[]? scratch, int length)
    {
        if (scratch is null || scratch.Length < length)
        {
            if (scratch is not null)
            {
                ArrayPool<char>.Shared.Return(scratch);
            }

            scratch = ArrayPool<char>.Shared.Rent(Math.Max(length, 256));
        }
    }

    /// <summary>Whether the innermost open object already has the name; records it otherwise.</summary>
    private static bool Seen(List<int> hashes, Stack<(int Start, HashSet<int>? Wide)> marks, int hash)
    {
        var (start, wide) = marks.Peek();
        if (wide is not null)
        {
            return !wide.Add(hash);
        }

        var names = CollectionsMarshal.AsSpan(hashes)[start..];
        if (names.Contains(hash))
        {
            return true;
        }

        hashes.Add(hash);
        if (names.Length >= LinearNames)
        {
            // A very wide object: a linear probe per name would be quadratic, so it moves to a set.
            marks.Pop();
            marks.Push((start, new HashSet<int>(CollectionsMarshal.AsSpan(hashes)[start..].ToArray())));
        }

        return false;
    }

    /// <summary>
    /// On the error path only: the last property name before <paramref name="index"/> (the field a bad string value
    /// belongs to), or null when there is none readable.
    /// </summary>
    private static string? NameBefore(ReadOnlySpan<byte> body, long index)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxDepth });
        string? name = null;
        try
        {
            while (reader.Read() && reader.TokenStartIndex < index)
            {
                if (reader.TokenType == JsonTokenType.PropertyName)
                {
                    name = reader.GetString();
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // A name that is itself unreadable: the error names no field.
        }

        return name is null ? null : Shorten(name);
    }

    private static string Shorten(ReadOnlySpan<char> name) => name.Length <= 64 ? name.ToString() : string.Concat(name[..64], "…");

    private static GatewayError Invalid(string why) => new(GatewayErrorCode.InvalidJson, "The request body was refused: " + why);
}
