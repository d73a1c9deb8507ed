using System.Buffers;
using System.Buffers.Binary;

namespace Purser.Pricing;

/// <summary>
/// Reads an image's pixel size from the first bytes of its base64 data (PNG, GIF, JPEG, WebP), so that the image is
/// bounded by its own size and not by the formula's maximum. Only the header is decoded (at most
/// <see cref="MaxBase64Chars"/> characters); a size that cannot be read is unknown (0 × 0). The providers decode the
/// same header, and every formula is symmetric in width and height, so an EXIF rotation changes nothing.
/// </summary>
public static class ImageSize
{
    /// <summary>48 KiB of image: a JPEG's frame header follows its EXIF/ICC segments, usually well within this.</summary>
    public const int MaxBase64Chars = 65_536;

    /// <summary>The size of the image in <paramref name="data"/> (base64, or a <c>data:</c> URL); false when unknown.</summary>
    public static bool TryRead(ReadOnlySpan<char> data, out int width, out int height)
    {
        width = 0;
        height = 0;
        if (data.StartsWith("data:", StringComparison.Ordinal))
        {
            var comma = data.IndexOf(',');
            if (comma < 0 || !data[..comma].EndsWith(";base64", StringComparison.Ordinal))
            {
                return false;
            }

            data = data[(comma + 1)..];
        }

        var take = Math.Min(data.Length, MaxBase64Chars) & ~3;
        if (take < 16)
        {
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(take / 4 * 3);
        try
        {
            if (!Convert.TryFromBase64Chars(data[..take], buffer, out var written))
            {
                return false;
            }

            return TryReadHeader(buffer.AsSpan(0, written), out width, out height) && width > 0 && height > 0;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The size from an image file's first bytes.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> bytes, out int width, out int height)
    {
        width = 0;
        height = 0;
        if (bytes.Length >= 24 && bytes[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            width = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(bytes[16..]), int.MaxValue);
            height = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(bytes[20..]), int.MaxValue);
            return true;
        }

        if (bytes.Length >= 10 && bytes[..4].SequenceEqual("GIF8"u8))
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(bytes[6..]);
            height = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]);
            return true;
        }

        if (bytes.Length >= 30 && bytes[..4].SequenceEqual("RIFF"u8) && bytes[8..12].SequenceEqual("WEBP"u8))
        {
            return TryWebP(bytes, out width, out height);
        }

        if (bytes.Length >= 4 && bytes[0] == 0xFF && bytes[1] == 0xD8)
        {
            return TryJpeg(bytes, out width, out height);
        }

        return false;
    }

    private static bool TryWebP(ReadOnlySpan<byte> bytes, out int width, out int height)
    {
        width = 0;
        height = 0;
        var chunk = bytes[12..16];
        if (chunk.SequenceEqual("VP8X"u8))
        {
            width = 1 + (bytes[24] | (bytes[25] << 8) | (bytes[26] << 16));
            height = 1 + (bytes[27] | (bytes[28] << 8) | (bytes[29] << 16));
            return true;
        }

        if (chunk.SequenceEqual("VP8 "u8))
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(bytes[26..]) & 0x3FFF;
            height = BinaryPrimitives.ReadUInt16LittleEndian(bytes[28..]) & 0x3FFF;
            return true;
        }

        if (chunk.SequenceEqual("VP8L"u8) && bytes.Length >= 25)
        {
            var bits = BinaryPrimitives.ReadUInt32LittleEndian(bytes[21..]);
            width = 1 + (int)(bits & 0x3FFF);
            height = 1 + (int)((bits >> 14) & 0x3FFF);
            return true;
        }

        return false;
    }

    private static bool TryJpeg(ReadOnlySpan<byte> bytes, out int width, out int height)
    {
        width = 0;
        height = 0;
        var i = 2;
        while (i + 9 < bytes.Length)
        {
            if (bytes[i] != 0xFF)
            {
                return false;
            }

            var marker = bytes[i + 1];
            if (marker == 0xFF)
            {
                i++;
                continue;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(bytes[(i + 2)..]);
            var isFrame = marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC);
            if (isFrame)
            {
                height = BinaryPrimitives.ReadUInt16BigEndian(bytes[(i + 5)..]);
                width = BinaryPrimitives.ReadUInt16BigEndian(bytes[(i + 7)..]);
                return true;
            }

            if (length < 2)
            {
                return false;
            }

            i += 2 + length;
        }

        return false;
    }
}
