namespace Purser.Providers.Streaming;

/// <summary>What one OpenAI chat stream event was.</summary>
public enum OpenAiChunkKind
{
    /// <summary>A chat.completion.chunk with choices (content, tool calls, role or finish).</summary>
    Content = 0,

    /// <summary>The include_usage chunk: empty choices and a usage object.</summary>
    UsageOnly = 1,

    /// <summary>The "[DONE]" sentinel.</summary>
    Done = 2,

    /// <summary>An {"error":…} object sent mid-stream.</summary>
    Error = 3,

    /// <summary>Not a JSON object.</summary>
    Malformed = 4,
}
