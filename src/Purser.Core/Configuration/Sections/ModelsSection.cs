using System.Globalization;
using Purser.Pricing;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The <c>models:</c> section: each alias callers send, its provider, upstream name, kind, price and limits.</summary>
internal sealed class ModelsSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    private const int DefaultMaxOutputTokens = PricesSection.DefaultMaxOutputTokens;

    private const int DefaultMaxTokensCeiling = 4096;

    private static readonly string[] ModelFields = ["provider", "upstream", "kind", "price", "free", "max_output_tokens", "default_max_tokens", "reasoning"];

    public Dictionary<string, ModelConfig> Read(YamlNode node, HashSet<string> providers, PriceCatalog prices, HashSet<string> declared)
    {
        var models = new Dictionary<string, ModelConfig>(StringComparer.Ordinal);
        if (!TryMapping(node, "models", out var map))
        {
            return models;
        }

        foreach (var (aliasNode, body) in Entries(map, "models"))
        {
            var alias = aliasNode.Value ?? string.Empty;
            var path = "models." + alias;
            declared.Add(alias);
            var before = ErrorCount;
            if (alias.Length == 0 || alias.AsSpan().ContainsAny(" \t\r\n"))
            {
                Error(aliasNode.Start.Line, path, "a model alias must be non-empty and contain no whitespace");
            }

            if (!TryMapping(body, path, out var fieldsMap))
            {
                continue;
            }

            var fields = Fields(fieldsMap, path, ModelFields);
            string? provider = null;
            if (!fields.TryGetValue("provider", out var providerNode))
            {
                Error(aliasNode.Start.Line, path + ".provider", "is required");
            }
            else if (TryScalar(providerNode, path + ".provider", out var providerName))
            {
                if (providers.Contains(providerName.Value))
                {
                    provider = providerName.Value;
                }
                else
                {
                    Error(providerName.Line, path + ".provider", $"unknown provider {providerName.Describe()}");
                }
            }

            var upstream = alias;
            if (fields.TryGetValue("upstream", out var upstreamNode) && TryNonEmpty(upstreamNode, path + ".upstream", out var upstreamName))
            {
                upstream = upstreamName.Value;
            }

            var kind = ModelKind.Chat;
            if (fields.TryGetValue("kind", out var kindNode) && TryScalar(kindNode, path + ".kind", out var kindText))
            {
                switch (kindText.Value.ToUpperInvariant())
                {
                    case "CHAT":
                        kind = ModelKind.Chat;
                        break;
                    case "EMBEDDINGS":
                        kind = ModelKind.Embeddings;
                        break;
                    default:
                        Error(kindText.Line, path + ".kind", $"unknown kind {kindText.Describe()} (expected chat or embeddings)");
                        break;
                }
            }

            ModelPrice? explicitPrice = null;
            if (fields.TryGetValue("price", out var priceNode) && new PricesSection(Diagnostics, prices).TryPrice(priceNode, path + ".price", allowMaxOutput: false, out var price, out _))
            {
                explicitPrice = price;
            }

            var free = false;
            if (fields.TryGetValue("free", out var freeNode) && TryBool(freeNode, path + ".free", out free) && free && priceNode is not null)
            {
                Error(freeNode.Start.Line, path + ".free", "conflicts with price: a model is either free or priced");
            }

            var known = prices.TryGet(upstream, out var entry) ? entry : null;

            var maxOutput = known is { MaxOutputTokens: > 0 } ? known.MaxOutputTokens : DefaultMaxOutputTokens;
            var maxOutputValid = true;
            if (fields.TryGetValue("max_output_tokens", out var maxNode))
            {
                maxOutputValid = TryInteger(maxNode, path + ".max_output_tokens", 1, int.MaxValue, out var max);
                maxOutput = maxOutputValid ? (int)max : maxOutput;
            }

            var defaultMax = Math.Min(DefaultMaxTokensCeiling, maxOutput);
            if (fields.TryGetValue("default_max_tokens", out var defaultNode) && TryInteger(defaultNode, path + ".default_max_tokens", 1, int.MaxValue, out var requested))
            {
                defaultMax = (int)requested;
                if (maxOutputValid && requested > maxOutput)
                {
                    Error(defaultNode.Start.Line, path + ".default_max_tokens", $"{requested.ToString(CultureInfo.InvariantCulture)} is above max_output_tokens ({maxOutput.ToString(CultureInfo.InvariantCulture)})");
                }
            }

            // Fail closed at load, not per request: every model here can serve a request (directly, or as a Bedtime or
            // budget degrade, a route target, an ensemble member or judge), and one with no price would be served and
            // recorded at $0 with no cap able to hold it.
            if (!free && explicitPrice is null && known is null && priceNode is null && ErrorCount == before && provider is not null && providers.Contains(provider))
            {
                Error(aliasNode.Start.Line, path, $"the upstream model '{upstream}' has no price in the catalog: give price: {{ input, output }} (USD per million tokens) or free: true");
            }

            // A model the catalog does not know (a self-hosted or renamed reasoning model) is marked by the operator:
            // its hidden tokens cannot be counted from a stream, so a cut stream is charged its hold in full.
            var reasoning = known?.Reasoning ?? false;
            if (fields.TryGetValue("reasoning", out var reasoningNode) && TryBool(reasoningNode, path + ".reasoning", out var marked))
            {
                reasoning = marked;
            }

            if (ErrorCount == before && provider is not null)
            {
                models[alias] = new ModelConfig
                {
                    Alias = alias,
                    Provider = provider,
                    UpstreamModel = upstream,
                    Kind = kind,
                    Price = free ? ModelPrice.Free : explicitPrice ?? known?.Price,
                    Free = free,
                    MaxOutputTokens = maxOutput,
                    DefaultMaxTokens = defaultMax,
                    ContextWindow = known?.ContextWindow,
                    Reasoning = reasoning,
                };
            }
        }

        return models;
    }
}
