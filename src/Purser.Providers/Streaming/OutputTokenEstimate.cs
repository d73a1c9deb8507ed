namespace Purser.Providers.Streaming;

/// <summary>
/// The output a stream is settled at when it ends without reported usage (client gone, upstream cut), so that it is
/// never settled at $0.
/// </summary>
internal static class OutputTokenEstimate
{
    /// <summary>
    /// max(chunks, ceil(bytes / 4)). Each text-carrying chunk holds at least one token, and OpenAI streams about one
    /// token per chunk, so the chunk count alone tracks OpenAI closely. Anthropic batches several tokens per delta, so
    /// there the byte count leads: BPE tokenizers (OpenAI's, Anthropic's) average about four UTF-8 bytes of English or
    /// code per token. Taking the larger keeps the estimate from dropping below either signal. It is an estimate, not
    /// a bound: text denser in tokens than four bytes each (e.g. CJK delivered in large deltas) can count low.
    /// </summary>
    public static long Count(long contentChunks, long contentBytes) => Math.Max(contentChunks, (contentBytes + 3) / 4);
}
