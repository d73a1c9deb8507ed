using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Purser.Pricing;

/// <summary>
/// Known prices by upstream model name. Lookups accept dated snapshots of a catalog model
/// ("gpt-4o-2024-08-06" → "gpt-4o") by trying ever shorter '-'-separated prefixes, so the longest match wins
/// ("gpt-4o-mini-2024-07-18" → "gpt-4o-mini", never "gpt-4o").
/// </summary>
public sealed class PriceCatalog
{
    private readonly FrozenDictionary<string, CatalogEntry> entries;
    private readonly FrozenDictionary<string, CatalogEntry>.AlternateLookup<ReadOnlySpan<char>> bySpan;

    private PriceCatalog(IEnumerable<KeyValuePair<string, CatalogEntry>> entries)
    {
        this.entries = entries.ToFrozenDictionary(StringComparer.Ordinal);
        bySpan = this.entries.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The prices Purser ships with; see <see cref="CreateDefault"/> for the table and its date.</summary>
    public static PriceCatalog Default { get; } = CreateDefault();

    /// <summary>No prices at all: every model is unpriced unless the configuration prices it.</summary>
    public static PriceCatalog Empty { get; } = new([]);

    /// <summary>Every entry by exact catalog name.</summary>
    public IReadOnlyDictionary<string, CatalogEntry> Entries => entries;

    public int Count => entries.Count;

    /// <summary>A new catalog with <paramref name="overrides"/> replacing or adding entries by exact name.</summary>
    public PriceCatalog With(IReadOnlyDictionary<string, CatalogEntry> overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        if (overrides.Count == 0)
        {
            return this;
        }

        var merged = new Dictionary<string, CatalogEntry>(entries, StringComparer.Ordinal);
        foreach (var (name, entry) in overrides)
        {
            merged[name] = entry;
        }

        return new PriceCatalog(merged);
    }

    /// <summary>
    /// The entry for <paramref name="upstreamModel"/>: the exact name, else the longest catalog name that is a
    /// prefix of it followed by '-'.
    /// </summary>
    public bool TryGet(string upstreamModel, [NotNullWhen(true)] out CatalogEntry? entry)
    {
        ArgumentNullException.ThrowIfNull(upstreamModel);
        ReadOnlySpan<char> name = upstreamModel;
        if (bySpan.TryGetValue(name, out entry))
        {
            return true;
        }

        // Only a dated snapshot of a listed model inherits its price ("gpt-4o-2024-08-06", "claude-sonnet-4-5-20250929",
        // "gpt-4-0613", "claude-3-5-haiku-latest"). A different model that merely shares a prefix ("o3-pro",
        // "gpt-5-pro") costs more, and pricing it as its namesake would under-count spend, so it stays unpriced.
        var snapshot = SnapshotSuffixLength(name);
        if (snapshot > 0 && bySpan.TryGetValue(name[..^snapshot], out entry))
        {
            return true;
        }

        entry = null;
        return false;
    }

    private static int SnapshotSuffixLength(ReadOnlySpan<char> name)
    {
        if (name.EndsWith("-latest", StringComparison.Ordinal))
        {
            return "-latest".Length;
        }

        // -YYYY-MM-DD
        if (name.Length > 11 && name[^11] == '-' && name[^6] == '-' && name[^3] == '-'
            && IsDigits(name[^10..^6]) && IsDigits(name[^5..^3]) && IsDigits(name[^2..]))
        {
            return 11;
        }

        // -YYYYMMDD or -MMDD
        foreach (var digits in (ReadOnlySpan<int>)[8, 4])
        {
            if (name.Length > digits + 1 && name[^(digits + 1)] == '-' && IsDigits(name[^digits..]))
            {
                return digits + 1;
            }
        }

        return 0;
    }

    private static bool IsDigits(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return text.Length > 0;
    }

    /// <summary>
    /// USD per million tokens as listed on the providers' public pricing pages (openai.com/api/pricing,
    /// claude.com/pricing), taken 2025-11-25. Cache write is left empty for OpenAI, which bills cache writes at the
    /// plain input price. Embedding models have no output price and no output ceiling (0).
    /// The sim-* and claude-sim models belong to Purser's simulated provider used by the quickstart.
    /// </summary>
    private static PriceCatalog CreateDefault()
    {
        (string Model, decimal Input, decimal Output, decimal? CachedInput, decimal? CacheWrite, int MaxOutput)[] table =
        [
            // model                    input    output  cached   write   max output
            ("gpt-4o",                  2.50m,   10.00m, 1.25m,   null,   16_384),
            ("gpt-4o-mini",             0.15m,   0.60m,  0.075m,  null,   16_384),
            ("gpt-4.1",                 2.00m,   8.00m,  0.50m,   null,   32_768),
            ("gpt-4.1-mini",            0.40m,   1.60m,  0.10m,   null,   32_768),
            ("gpt-4.1-nano",            0.10m,   0.40m,  0.025m,  null,   32_768),
            ("gpt-5",                   1.25m,   10.00m, 0.125m,  null,   128_000),
            ("gpt-5-mini",              0.25m,   2.00m,  0.025m,  null,   128_000),
            ("gpt-5-nano",              0.05m,   0.40m,  0.005m,  null,   128_000),
            ("o3",                      2.00m,   8.00m,  0.50m,   null,   100_000),
            ("o4-mini",                 1.10m,   4.40m,  0.275m,  null,   100_000),
            ("text-embedding-3-small",  0.02m,   0m,     null,    null,   0),
            ("text-embedding-3-large",  0.13m,   0m,     null,    null,   0),

            ("claude-opus-4-1",         15m,     75m,    1.50m,   18.75m, 32_000),
            ("claude-opus-4-5",         5m,      25m,    0.50m,   6.25m,  64_000),
            ("claude-sonnet-4-5",       3m,      15m,    0.30m,   3.75m,  64_000),
            ("claude-sonnet-4",         3m,      15m,    0.30m,   3.75m,  64_000),
            ("claude-haiku-4-5",        1m,      5m,     0.10m,   1.25m,  64_000),
            ("claude-3-5-haiku",        0.80m,   4m,     0.08m,   1.00m,  8_192),

            ("sim-chat",                0.50m,   1.50m,  0.25m,   null,   4_096),
            ("sim-embed",               0.02m,   0m,     null,    null,   0),
            ("claude-sim",              1m,      5m,     0.10m,   1.25m,  4_096),
        ];

        var entries = new Dictionary<string, CatalogEntry>(table.Length, StringComparer.Ordinal);
        foreach (var row in table)
        {
            var price = new ModelPrice(
                Nano(row.Input),
                Nano(row.Output),
                row.CachedInput is { } cached ? Nano(cached) : null,
                row.CacheWrite is { } write ? Nano(write) : null);
            entries.Add(row.Model, new CatalogEntry(price, row.MaxOutput));
        }

        return new PriceCatalog(entries);

        static long Nano(decimal usdPerMillion) => Money.FromUsd(usdPerMillion).NanoUsd;
    }
}
