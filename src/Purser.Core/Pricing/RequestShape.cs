using Purser.Usage;

namespace Purser.Pricing;

/// <summary>How much detail an OpenAI caller asked for an image (<c>image_url.detail</c>).</summary>
public enum ImageDetail
{
    Auto = 0,
    Low = 1,
    High = 2,
}

/// <summary>Whether a request asks the provider to write its prompt cache, and for how long.</summary>
public enum CacheWriteKind
{
    None = 0,
    FiveMinutes = 1,
    OneHour = 2,
}

/// <summary>One image of a request: its pixel size when the gateway could read it from the data (0 × 0 when not).</summary>
public readonly record struct ImageInput(int Width, int Height, ImageDetail Detail)
{
    public bool KnownSize => Width > 0 && Height > 0;
}

/// <summary>
/// A tool the provider runs itself (Anthropic's web search, web fetch, …): each use may add results to the input and a
/// fee; <see cref="MaxUses"/> null means the request sets no limit.
/// </summary>
public readonly record struct ServerToolInput(string Type, int? MaxUses, bool ChargedPerUse);

/// <summary>
/// The normalised view of a chat request that its worst case is computed from, the same for both wire formats, built
/// from the parsed body or from the fast scan of its bytes. Everything the provider can bill for is here: the text (as
/// bytes: every byte of the body that is not an image's data), images, content the gateway cannot size (documents,
/// files, audio), tool definitions, server tools, the number of choices, the requested service tier and cache writes.
/// </summary>
public sealed class RequestShape
{
    /// <summary>Bytes of the body that may be billed as text: the whole body less the image data billed by formula.</summary>
    public long TextBytes { get; set; }

    /// <summary>OpenAI's <c>n</c>: every choice is billed its own output.</summary>
    public int Choices { get; set; } = 1;

    public List<ImageInput> Images { get; } = [];

    /// <summary>Documents, PDFs, files and audio: content whose billed tokens the gateway cannot compute from the request.</summary>
    public int UnsizedContent { get; set; }

    /// <summary>Client tools defined in the request (their definitions are in <see cref="TextBytes"/>; the provider adds a prompt).</summary>
    public int Tools { get; set; }

    /// <summary>Tools the provider defines and prompts for (Anthropic bash, text editor, computer), run by the client.</summary>
    public int ProviderDefinedTools { get; set; }

    public List<ServerToolInput> ServerTools { get; } = [];

    /// <summary>Why no bound exists for this request whatever the model (a server tool without <c>max_uses</c>, …); null when one may.</summary>
    public string? Unbounded { get; set; }

    public ServiceTier Tier { get; set; }

    public CacheWriteKind CacheWrites { get; set; }

    /// <summary>A context window the request switches on (Anthropic's 1M-token beta), above the model's own.</summary>
    public long? ContextWindowAtLeast { get; set; }

    /// <summary>A request of text only: the common case, bounded by its bytes alone.</summary>
    public static RequestShape Text(long bodyBytes) => new() { TextBytes = bodyBytes };
}
