namespace Purser.Pricing;

/// <summary>
/// A shipped default for a provider model: its price, its output ceiling, its context window (the most input tokens the
/// provider accepts in one call, null when unknown; it caps the input a request can be billed) and whether it reasons
/// (spends hidden output tokens that a cut stream cannot count, so such a stream is charged its hold in full).
/// </summary>
public sealed record CatalogEntry(ModelPrice Price, int MaxOutputTokens, long? ContextWindow = null, bool Reasoning = false);
