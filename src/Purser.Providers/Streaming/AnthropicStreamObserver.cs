using Purser.Providers.Usage;
using Purser.Usage;

namespace Purser.Providers.Streaming;

/// <summary>
/// Watches an Anthropic Messages stream, event by event, without changing it: learns the reported usage, and
/// counts generated text so that a stream ending without usage can still be settled.
/// </summary>
public sealed class AnthropicStreamObserver
{
    private readonly AnthropicEvent _event = new();
    private long _input;
    private long _cacheRead;
    private long _cacheWrite;
    private long _cacheWrite1h;
    private long _webSearches;
    private long _output;
    private bool _sawOutputUsage;

    /// <summary>
    /// Input from message_start (input_tokens + cache reads + cache writes, so the whole prompt), output from the
    /// latest message_delta; null until a message_delta has reported output_tokens. message_delta counts, being
    /// cumulative, replace message_start's when present.
    /// </summary>
    public TokenUsage? ReportedUsage => _sawOutputUsage
        ? new TokenUsage(_input + _cacheRead + _cacheWrite, _output, _cacheRead, _cacheWrite, _cacheWrite1h, WebSearchRequests: _webSearches)
        : null;

    /// <summary>
    /// The input as message_start reported it, with its cache reads and writes (5-minute and 1-hour) and the server tool
    /// uses so far: what a stream cut before usage is charged for its input, priced per class (not all as plain input).
    /// </summary>
    public TokenUsage ReportedInput => new(_input + _cacheRead + _cacheWrite, 0, _cacheRead, _cacheWrite, _cacheWrite1h, WebSearchRequests: _webSearches);

    /// <summary>The whole prompt as message_start reported it; known long before the output.</summary>
    public long? ReportedInputTokens { get; private set; }

    /// <summary>Events that carried text, thinking, tool input or a tool name.</summary>
    public long ContentChunks { get; private set; }

    /// <summary>UTF-8 bytes of text, thinking, tool input JSON and tool names.</summary>
    public long ContentBytes { get; private set; }

    public string? StopReason { get; private set; }

    public bool SawMessageStop { get; private set; }

    /// <summary>max(ContentChunks, ceil(ContentBytes / 4)); see <see cref="OutputTokenEstimate.Count"/> for why.</summary>
    public long CountedOutputTokens => OutputTokenEstimate.Count(ContentChunks, ContentBytes);

    /// <summary>The last observed event's fields, for the translator that owns this observer.</summary>
    internal AnthropicEvent LastEvent => _event;

    /// <summary>Observes one SSE event: its "event:" name (may be empty) and its data.</summary>
    public AnthropicEventKind Observe(ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> data)
    {
        var kind = ObserveCore(eventName, data);
        LastKind = kind;
        SawError |= kind == AnthropicEventKind.Error;
        return kind;
    }

    /// <summary>The kind of the last observed frame (a translator reads it after translating).</summary>
    public AnthropicEventKind LastKind { get; private set; }

    /// <summary>Whether the provider sent an error frame: the stream then ended as the provider meant it to.</summary>
    public bool SawError { get; private set; }

    private AnthropicEventKind ObserveCore(ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> data)
    {
        if (!_event.TryParse(eventName, data))
        {
            return AnthropicEventKind.Malformed;
        }

        switch (_event.Kind)
        {
            case AnthropicEventKind.MessageStart:
                ApplyInput(_event.MessageUsage);
                break;
            case AnthropicEventKind.ContentBlockStart:
                Count(_event.BlockName.DecodedLength + _event.BlockText.DecodedLength);
                break;
            case AnthropicEventKind.Delta:
                if (_event.Delta is AnthropicEvent.DeltaKind.Text or AnthropicEvent.DeltaKind.InputJson
                    or AnthropicEvent.DeltaKind.Thinking)
                {
                    Count(_event.DeltaText.DecodedLength);
                }

                break;
            case AnthropicEventKind.MessageDelta:
                if (_event.StopReason is not null)
                {
                    StopReason = _event.StopReason;
                }

                var usage = _event.Usage;
                if (usage.OutputTokens is { } output)
                {
                    _output = output;
                    _sawOutputUsage = true;
                }

                if (usage.Any)
                {
                    ApplyInput(usage);
                }

                break;
            case AnthropicEventKind.MessageStop:
                SawMessageStop = true;
                break;
            default:
                break;
        }

        return _event.Kind;
    }

    private void ApplyInput(AnthropicUsageFields usage)
    {
        _input = usage.InputTokens ?? _input;
        _cacheRead = usage.CacheReadTokens ?? _cacheRead;
        _cacheWrite = usage.CacheCreationTokens ?? _cacheWrite;
        _cacheWrite1h = usage.CacheWrite1hTokens ?? _cacheWrite1h;
        _webSearches = usage.WebSearchRequests ?? _webSearches;
        if (usage.Any)
        {
            ReportedInputTokens = _input + _cacheRead + _cacheWrite;
        }
    }

    private void Count(int bytes)
    {
        if (bytes > 0)
        {
            ContentChunks++;
            ContentBytes += bytes;
        }
    }
}
