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
    /// The shipped table; see <see cref="CatalogTable"/> for every row, its source and its date.
    /// </summary>
    private static PriceCatalog CreateDefault() => new(CatalogTable.Rows());
}
