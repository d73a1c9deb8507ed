namespace Purser.Pricing;

/// <summary>A shipped default for a provider model: its price and its output ceiling.</summary>
public sealed record CatalogEntry(ModelPrice Price, int MaxOutputTokens);
