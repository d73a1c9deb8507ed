using System.Text.Json;
using Purser.Gateway.Errors;
using Purser.Keys;

namespace Purser.Gateway.Budgets;

/// <summary>
/// The rules for who a request is for beyond its key: an end-user id (from <c>x-budget-user</c>, or from the body's
/// OpenAI <c>user</c> / Anthropic <c>metadata.user_id</c> when the key trusts it) and tags (<c>x-budget-tags</c>, only
/// from keys that trust them). Both are bounded so a caller cannot grow counters, records or memory without limit.
/// </summary>
internal static class EndUsers
{
    public const int MaxIdLength = 128;
    public const int MaxTags = 8;
    public const int MaxTagLength = 64;

    public const string IdRule = "1-128 characters of A-Z, a-z, 0-9, '.', '_', '-', ':', '@' and '+'";

    public const string TagsRule = "at most 8 comma-separated tags, each 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-' and ':'";

    public static bool IsValidId(ReadOnlySpan<char> id)
    {
        if (id.IsEmpty || id.Length > MaxIdLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or '@' or '+'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The tags of a header value, repeats dropped; null when any tag is malformed or there are too many.</summary>
    public static IReadOnlyList<string>? ParseTags(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        var tags = new List<string>(2);
        foreach (var range in value.AsSpan().Split(','))
        {
            var tag = value.AsSpan(range).Trim(' ');
            if (tag.IsEmpty || tag.Length > MaxTagLength || !Purser.Budgets.ScopeRef.IsValidId(tag))
            {
                return null;
            }

            var text = tag.ToString();
            if (!tags.Contains(text))
            {
                if (tags.Count == MaxTags)
                {
                    return null;
                }

                tags.Add(text);
            }
        }

        return tags;
    }

    /// <summary>
    /// Applies the key's trust to what the headers named: tags from a key that does not trust them are refused; the
    /// body's user field names the end user only when the key trusts it and no x-budget-user was sent.
    /// </summary>
    public static GatewayError? Resolve(VirtualKey key, ReadOnlySpan<byte> body, bool anthropic, ref BudgetRequestHeaders headers)
    {
        // The body is read only for a key that trusts it and a request that did not name its end user in a header.
        var bodyUser = headers.EndUser is null && key.TrustEndUser && !body.IsEmpty ? BodyUser(body, anthropic) : null;
        return Resolve(key, bodyUser, anthropic ? "metadata.user_id" : "user", ref headers);
    }

    /// <summary>As above, with the body's user field already read (<paramref name="field"/> names it in an error).</summary>
    public static GatewayError? Resolve(VirtualKey key, string? bodyUser, string field, ref BudgetRequestHeaders headers)
    {
        if (headers.Tags.Count > 0 && !key.TrustTags)
        {
            return BudgetRequestHeaders.Invalid(BudgetRequestHeaders.TagsHeader, $"is not accepted from key '{key.Id}' (set trust_tags: true on the key to allow it)");
        }

        if (headers.EndUser is not null || !key.TrustEndUser || bodyUser is null)
        {
            return null;
        }

        if (!IsValidId(bodyUser))
        {
            return new GatewayError(GatewayErrorCode.InvalidRequest, $"The field '{field}' names the end user (this key trusts it) and must be {IdRule}.", field);
        }

        headers = headers with { EndUser = bodyUser };
        return null;
    }

    /// <summary>The top-level <c>user</c> string (OpenAI) or <c>metadata.user_id</c> (Anthropic); null when absent or not a string.</summary>
    internal static string? BodyUser(ReadOnlySpan<byte> body, bool anthropic)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!anthropic && reader.ValueTextEquals("user"u8))
                {
                    reader.Read();
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                if (anthropic && reader.ValueTextEquals("metadata"u8))
                {
                    reader.Read();
                    return reader.TokenType == JsonTokenType.StartObject ? MetadataUser(ref reader) : null;
                }

                reader.Read();
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            return null;
        }

        return null;
    }

    private static string? MetadataUser(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("user_id"u8))
            {
                reader.Read();
                return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }

            reader.Read();
            reader.Skip();
        }

        return null;
    }
}
