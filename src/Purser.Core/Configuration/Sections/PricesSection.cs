using System.Globalization;
using Purser.Pricing;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The <c>prices:</c> section (catalog overrides) and the price mapping a model may carry.</summary>
internal sealed class PricesSection(ConfigDiagnostics diagnostics, PriceCatalog catalog) : SectionReader(diagnostics)
{
    /// <summary>The output ceiling of a model the catalog does not bound.</summary>
    internal const int DefaultMaxOutputTokens = 4096;

    private static readonly string[] ModelPriceFields = ["input", "output", "cached_input", "cache_write"];

    private static readonly string[] CatalogPriceFields = [.. ModelPriceFields, "max_output_tokens"];

    public PriceCatalog Read(YamlNode node)
    {
        if (!TryMapping(node, "prices", out var map))
        {
            return catalog;
        }

        var overrides = new Dictionary<string, CatalogEntry>(StringComparer.Ordinal);
        foreach (var (nameNode, body) in Entries(map, "prices"))
        {
            var name = nameNode.Value ?? string.Empty;
            var path = "prices." + name;
            if (TryPrice(body, path, allowMaxOutput: true, out var price, out var maxOutput))
            {
                var known = catalog.TryGet(name, out var existing) ? existing : null;
                var inherited = known?.MaxOutputTokens ?? DefaultMaxOutputTokens;
                overrides[name] = new CatalogEntry(price, maxOutput ?? inherited, known?.ContextWindow, known?.Reasoning ?? false);
            }
        }

        return catalog.With(overrides);
    }

    internal bool TryPrice(YamlNode node, string path, bool allowMaxOutput, out ModelPrice price, out int? maxOutput)
    {
        price = ModelPrice.Free;
        maxOutput = null;
        if (!TryMapping(node, path, out var map))
        {
            return false;
        }

        var before = ErrorCount;
        var fields = Fields(map, path, allowMaxOutput ? CatalogPriceFields : ModelPriceFields);
        var input = RequiredUsd(fields, "input", path, map.Start.Line);
        var output = RequiredUsd(fields, "output", path, map.Start.Line);
        long? cached = fields.TryGetValue("cached_input", out var cachedNode) && TryUsdPerMillion(cachedNode, path + ".cached_input", out var c) ? c : null;
        long? write = fields.TryGetValue("cache_write", out var writeNode) && TryUsdPerMillion(writeNode, path + ".cache_write", out var w) ? w : null;
        if (fields.TryGetValue("max_output_tokens", out var maxNode) && TryInteger(maxNode, path + ".max_output_tokens", 1, int.MaxValue, out var max))
        {
            maxOutput = (int)max;
        }

        if (ErrorCount != before || input is null || output is null)
        {
            return false;
        }

        price = new ModelPrice(input.Value, output.Value, cached, write);
        return true;
    }

    private long? RequiredUsd(Dictionary<string, YamlNode> fields, string name, string path, long line)
    {
        if (!fields.TryGetValue(name, out var node))
        {
            Error(line, path + "." + name, "is required (USD per million tokens)");
            return null;
        }

        return TryUsdPerMillion(node, path + "." + name, out var nano) ? nano : null;
    }

    private bool TryUsdPerMillion(YamlNode node, string path, out long nanoPerMillion)
    {
        nanoPerMillion = 0;
        if (!TryScalar(node, path, out var text, ScalarKind.Amount))
        {
            return false;
        }

        if (!decimal.TryParse(text.Value, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var usd))
        {
            Error(text.Line, path, $"expected a decimal number of USD per million tokens, got {text.Describe()}");
            return false;
        }

        if (usd < 0)
        {
            Error(text.Line, path, "must not be negative");
            return false;
        }

        var nano = usd * Money.NanoPerUsd;
        if (nano != decimal.Truncate(nano))
        {
            Error(text.Line, path, "more than 9 decimal places: prices are exact to the nano-dollar per million tokens");
            return false;
        }

        if (nano > long.MaxValue)
        {
            Error(text.Line, path, "is too large");
            return false;
        }

        nanoPerMillion = (long)nano;
        return true;
    }
}
