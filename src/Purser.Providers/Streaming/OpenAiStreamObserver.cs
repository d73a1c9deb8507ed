using System.Text;
using Purser.Usage;

namespace Purser.Providers.Streaming;

/// <summary>
/// Watches an OpenAI chat completion stream, event by event, without changing it: learns the reported usage, and
/// counts generated text so that a stream ending without usage can still be settled.
/// </summary>
public sealed class OpenAiStreamObserver
{
    private readonly OpenAiChunk _chunk = new();

    /// <summary>From the last non-null "usage" object seen (the include_usage chunk).</summary>
    public TokenUsage? ReportedUsage { get; private set; }

    /// <summary>Chunks that carried content, refusal, reasoning or tool-call text.</summary>
    public long ContentChunks { get; private set; }

    /// <summary>UTF-8 bytes of content, refusal, reasoning and tool-call names and arguments.</summary>
    public long ContentBytes { get; private set; }

    public string? FinishReason { get; private set; }

    public bool SawDone { get; private set; }

    /// <summary>max(ContentChunks, ceil(ContentBytes / 4)); see <see cref="OutputTokenEstimate.Count"/> for why.</summary>
    public long CountedOutputTokens => OutputTokenEstimate.Count(ContentChunks, ContentBytes);

    /// <summary>The last observed chunk's fields, for the translator that owns this observer.</summary>
    internal OpenAiChunk LastChunk => _chunk;

    /// <summary>Observes the data of one SSE event.</summary>
    public OpenAiChunkKind Observe(ReadOnlySpan<byte> data)
    {
        var kind = ObserveCore(data);
        LastKind = kind;
        SawError |= kind == OpenAiChunkKind.Error;
        return kind;
    }

    /// <summary>The kind of the last observed frame (a translator reads it after translating).</summary>
    public OpenAiChunkKind LastKind { get; private set; }

    /// <summary>Whether the provider sent an error frame: the stream then ended as the provider meant it to.</summary>
    public bool SawError { get; private set; }

    private OpenAiChunkKind ObserveCore(ReadOnlySpan<byte> data)
    {
        if (data[Ascii.Trim(data)].SequenceEqual("[DONE]"u8))
        {
            SawDone = true;
            return OpenAiChunkKind.Done;
        }

        if (!_chunk.TryParse(data))
        {
            return OpenAiChunkKind.Malformed;
        }

        if (_chunk.IsError)
        {
            return OpenAiChunkKind.Error;
        }

        if (_chunk.CarriesGeneratedText)
        {
            ContentChunks++;
        }

        ContentBytes += _chunk.GeneratedBytes;
        if (_chunk.FinishReason is not null)
        {
            FinishReason = _chunk.FinishReason;
        }

        if (_chunk.HasUsage)
        {
            ReportedUsage = _chunk.Usage;
        }

        return !_chunk.HasChoices && _chunk.HasUsage ? OpenAiChunkKind.UsageOnly : OpenAiChunkKind.Content;
    }
}
