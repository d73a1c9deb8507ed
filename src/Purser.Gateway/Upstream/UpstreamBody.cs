using Purser.Gateway.Wire;

namespace Purser.Gateway.Upstream;

/// <summary>Reads a provider's (non-streamed) body into memory, refusing past a limit while reading.</summary>
internal static class UpstreamBody
{
    public static async Task<byte[]> ReadBoundedAsync(HttpContent content, int limit, CancellationToken ct)
    {
        if (content.Headers.ContentLength is { } length && length > limit)
        {
            throw new InvalidDataException("The upstream body is larger than the gateway accepts.");
        }

        var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new PooledBufferWriter(content.Headers.ContentLength is > 0 and <= 1 << 20 ? (int)content.Headers.ContentLength.Value : 16 * 1024);
            while (true)
            {
                var read = await stream.ReadAsync(buffer.GetMemory(8192), ct).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer.WrittenSpan.ToArray();
                }

                buffer.Advance(read);
                if (buffer.WrittenCount > limit)
                {
                    throw new InvalidDataException("The upstream body is larger than the gateway accepts.");
                }
            }
        }
    }
}
