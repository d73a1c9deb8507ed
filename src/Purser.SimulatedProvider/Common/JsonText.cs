using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Purser.SimulatedProvider.Common;

/// <summary>Byte-level views of request JSON values that avoid allocating strings on the common path.</summary>
internal static class JsonText
{
    /// <summary>UTF-8 byte count of a JSON string's unescaped value.</summary>
    public static int Utf8Length(JsonElement value)
    {
        ReadOnlySpan<byte> raw = Unquoted(value);
        // Unescaped raw bytes are exactly the value; escapes are rare, so decoding only then keeps the hot path allocation-free.
        return raw.Contains((byte)'\\') ? Encoding.UTF8.GetByteCount(value.GetString() ?? string.Empty) : raw.Length;
    }

    /// <summary>Byte count of a value's raw JSON text as it appears in the request.</summary>
    public static int RawLength(JsonElement value) => JsonMarshal.GetRawUtf8Value(value).Length;

    /// <summary>FNV-1a over the unescaped UTF-8 bytes of a JSON string.</summary>
    public static ulong Hash(JsonElement value)
    {
        ReadOnlySpan<byte> raw = Unquoted(value);
        if (!raw.Contains((byte)'\\'))
        {
            return Fnv.Hash(raw);
        }

        return Fnv.Hash(Encoding.UTF8.GetBytes(value.GetString() ?? string.Empty));
    }

    private static ReadOnlySpan<byte> Unquoted(JsonElement value)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8Value(value);
        return raw.Length >= 2 && raw[0] == (byte)'"' ? raw[1..^1] : raw;
    }
}
