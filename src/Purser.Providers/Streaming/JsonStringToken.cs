using System.Text.Json;

namespace Purser.Providers.Streaming;

/// <summary>
/// Where a JSON string value sits in the chunk being scanned. Translators copy the quoted token verbatim into their
/// output (it is already valid, escaped JSON), so text is never unescaped and re-escaped on the hot path.
/// </summary>
internal readonly struct JsonStringToken
{
    private JsonStringToken(int start, int length, int decodedLength)
    {
        Start = start;
        Length = length;
        DecodedLength = decodedLength;
    }

    /// <summary>Index of the opening quote in the scanned data.</summary>
    public int Start { get; }

    /// <summary>Length of the token, quotes included; 0 when the value was absent or not a string.</summary>
    public int Length { get; }

    /// <summary>UTF-8 length of the unescaped value.</summary>
    public int DecodedLength { get; }

    public bool IsPresent => Length > 0;

    public bool HasText => DecodedLength > 0;

    public ReadOnlySpan<byte> Quoted(ReadOnlySpan<byte> source) => source.Slice(Start, Length);

    /// <summary>Reads the string under <paramref name="reader"/>, or an absent token for any other token type.</summary>
    public static JsonStringToken Read(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            return default;
        }

        var value = reader.ValueSpan;
        var decoded = reader.ValueIsEscaped ? DecodedUtf8Length(value) : value.Length;
        return new JsonStringToken((int)reader.TokenStartIndex, value.Length + 2, decoded);
    }

    // Counted by hand rather than with CopyString so that a lone escaped surrogate (valid JSON, invalid UTF-16) is
    // measured as the replacement character it becomes instead of throwing.
    private static int DecodedUtf8Length(ReadOnlySpan<byte> escaped)
    {
        var length = 0;
        var i = 0;
        while (i < escaped.Length)
        {
            if (escaped[i] != (byte)'\\')
            {
                length++;
                i++;
                continue;
            }

            if (i + 1 < escaped.Length && escaped[i + 1] == (byte)'u' && TryHex(escaped, i + 2, out var unit))
            {
                i += 6;
                if (unit is >= 0xD800 and <= 0xDBFF && i + 5 < escaped.Length && escaped[i] == (byte)'\\'
                    && escaped[i + 1] == (byte)'u' && TryHex(escaped, i + 2, out var low) && low is >= 0xDC00 and <= 0xDFFF)
                {
                    length += 4;
                    i += 6;
                }
                else
                {
                    length += unit < 0x80 ? 1 : unit < 0x800 ? 2 : 3;
                }
            }
            else
            {
                length++;
                i += 2;
            }
        }

        return length;
    }

    private static bool TryHex(ReadOnlySpan<byte> text, int start, out int value)
    {
        value = 0;
        if (start + 4 > text.Length)
        {
            return false;
        }

        for (var i = start; i < start + 4; i++)
        {
            var c = text[i];
            int digit = c switch
            {
                >= (byte)'0' and <= (byte)'9' => c - '0',
                >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                return false;
            }

            value = (value << 4) | digit;
        }

        return true;
    }
}
