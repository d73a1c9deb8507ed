using System.Buffers.Binary;
using System.Text.Json;

namespace Purser.SimulatedProvider.Common;

/// <summary>
/// Image input tokens as the providers publish them, for the simulator's usage: the size comes from a base64 PNG or GIF
/// header (a URL, which the simulator does not fetch, is a 512 × 512 image).
/// <list type="bullet">
/// <item>OpenAI: detail low = base; else fit 2048 × 2048, shortest side down to 768, base + 512 px tiles × per-tile.
/// gpt-4o-mini: 2,833 + 5,667; gpt-5: 70 + 140; o1/o3: 75 + 150; others 85 + 170.</item>
/// <item>Anthropic: scale to a long edge of at most 1,568 px and at most 1.15 megapixels, then w·h/750.</item>
/// </list>
/// </summary>
internal static class ImageBilling
{
    public static int OpenAi(string model, JsonElement imageUrl)
    {
        string? url = imageUrl.ValueKind == JsonValueKind.String ? imageUrl.GetString()
            : imageUrl.ValueKind == JsonValueKind.Object && imageUrl.TryGetProperty("url", out JsonElement u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        bool low = imageUrl.ValueKind == JsonValueKind.Object && imageUrl.TryGetProperty("detail", out JsonElement d) && d.ValueEquals("low");
        (int baseTokens, int perTile) = model.StartsWith("gpt-4o-mini", StringComparison.Ordinal) ? (2833, 5667)
            : model.StartsWith("gpt-5", StringComparison.Ordinal) ? (70, 140)
            : model.StartsWith("o1", StringComparison.Ordinal) || model.StartsWith("o3", StringComparison.Ordinal) ? (75, 150)
            : (85, 170);
        if (low)
        {
            return baseTokens;
        }

        (double w, double h) = Size(url);
        if (w > 2048 || h > 2048)
        {
            double scale = 2048 / Math.Max(w, h);
            (w, h) = (Math.Floor(w * scale), Math.Floor(h * scale));
        }

        if (Math.Min(w, h) > 768)
        {
            double scale = 768 / Math.Min(w, h);
            (w, h) = (Math.Floor(w * scale), Math.Floor(h * scale));
        }

        int tiles = (int)(Math.Ceiling(w / 512) * Math.Ceiling(h / 512));
        return baseTokens + (tiles * perTile);
    }

    public static int Anthropic(string? base64Data)
    {
        (double w, double h) = Size(base64Data);
        double longEdge = Math.Max(w, h);
        if (longEdge > 1568)
        {
            (w, h) = (Math.Floor(w * 1568 / longEdge), Math.Floor(h * 1568 / longEdge));
        }

        if (w * h > 1_150_000)
        {
            double scale = Math.Sqrt(1_150_000 / (w * h));
            (w, h) = (Math.Floor(w * scale), Math.Floor(h * scale));
        }

        return (int)Math.Ceiling(w * h / 750);
    }

    private static (double Width, double Height) Size(string? data)
    {
        if (data is null)
        {
            return (512, 512);
        }

        int comma = data.StartsWith("data:", StringComparison.Ordinal) ? data.IndexOf(',', StringComparison.Ordinal) : -1;
        ReadOnlySpan<char> b64 = comma >= 0 ? data.AsSpan(comma + 1) : data.StartsWith("http", StringComparison.Ordinal) ? default : data.AsSpan();
        b64 = b64[..(Math.Min(b64.Length, 64) & ~3)];
        Span<byte> head = stackalloc byte[48];
        if (b64.Length < 32 || !Convert.TryFromBase64Chars(b64, head, out int written))
        {
            return (512, 512);
        }

        head = head[..written];
        if (written >= 24 && head[0] == 0x89 && head[1] == (byte)'P')
        {
            return (BinaryPrimitives.ReadUInt32BigEndian(head[16..]), BinaryPrimitives.ReadUInt32BigEndian(head[20..]));
        }

        if (written >= 10 && head[0] == (byte)'G' && head[1] == (byte)'I')
        {
            return (BinaryPrimitives.ReadUInt16LittleEndian(head[6..]), BinaryPrimitives.ReadUInt16LittleEndian(head[8..]));
        }

        return (512, 512);
    }
}
