namespace Purser.Providers.Streaming;

/// <summary>What one Anthropic Messages stream event was.</summary>
public enum AnthropicEventKind
{
    MessageStart = 0,
    ContentBlockStart = 1,

    /// <summary>content_block_delta.</summary>
    Delta = 2,
    ContentBlockStop = 3,
    MessageDelta = 4,
    MessageStop = 5,
    Ping = 6,
    Error = 7,

    /// <summary>Data that is not a JSON object.</summary>
    Malformed = 8,

    /// <summary>A well-formed event of a type this gateway does not interpret.</summary>
    Other = 9,
}
