using Purser.Pricing;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The <c>storage:</c> section: SQLite path, shared PostgreSQL, budget leases and fail-open.</summary>
internal sealed class StorageSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    private static readonly string[] StorageFields = ["sqlite_path", "postgres", "leases", "lease_max_usd", "fail_open"];

    private static readonly string[] FailOpenFields = ["local_cap_usd"];

    private const string PostgresExample = "e.g. \"Host=db.internal;Username=purser;Password=${PGPASSWORD};Database=purser\"";

    public StorageConfig Read(YamlNode node)
    {
        var storage = new StorageConfig();
        if (!TryMapping(node, "storage", out var map))
        {
            return storage;
        }

        var fields = Fields(map, "storage", StorageFields);
        if (fields.TryGetValue("sqlite_path", out var pathNode) && TryNonEmpty(pathNode, "storage.sqlite_path", out var path))
        {
            storage = storage with { SqlitePath = path.Value };
        }

        if (fields.TryGetValue("postgres", out var postgresNode))
        {
            storage = storage with { Postgres = ParsePostgres(postgresNode) };
        }

        // Leases are on by default with either store (the hot path pays no database round trip; `leases: false` opts out
        // to per-request holds). Budget reads stay exact for a single instance: its own leases' unused part is not counted.
        if (fields.TryGetValue("leases", out var leasesNode) && TryBool(leasesNode, "storage.leases", out var leases))
        {
            storage = storage with { Leases = leases };
        }

        if (fields.TryGetValue("lease_max_usd", out var maxNode) && TryScalar(maxNode, "storage.lease_max_usd", out var maxText, ScalarKind.Amount))
        {
            if (Money.TryParseUsd(maxText.Value, out var max) && max > Money.Zero)
            {
                storage = storage with { LeaseMax = max };
            }
            else
            {
                Error(maxText.Line, "storage.lease_max_usd", $"expected a positive USD amount, got {maxText.Describe()}");
            }
        }

        if (fields.TryGetValue("fail_open", out var failOpenNode))
        {
            storage = storage with { FailOpenLocalCap = ParseFailOpen(failOpenNode) };
        }

        return storage;
    }

    /// <summary>storage.fail_open: { local_cap_usd } — absent means fail closed.</summary>
    private Money? ParseFailOpen(YamlNode node)
    {
        if (!TryMapping(node, "storage.fail_open", out var map))
        {
            return null;
        }

        var fields = Fields(map, "storage.fail_open", FailOpenFields);
        if (!fields.TryGetValue("local_cap_usd", out var capNode))
        {
            Error(node.Start.Line, "storage.fail_open.local_cap_usd", "is required (the USD one instance may spend per ledger outage)");
            return null;
        }

        if (!TryScalar(capNode, "storage.fail_open.local_cap_usd", out var capText, ScalarKind.Amount))
        {
            return null;
        }

        if (Money.TryParseUsd(capText.Value, out var cap) && cap > Money.Zero)
        {
            return cap;
        }

        Error(capText.Line, "storage.fail_open.local_cap_usd", $"expected a positive USD amount, got {capText.Describe()}");
        return null;
    }

    /// <summary>
    /// An Npgsql connection string (keyword=value pairs separated by ';'), usually with its password from the environment.
    /// Only its shape is checked here: Core does not reference Npgsql, and the gateway reports what the server says at start-up.
    /// </summary>
    private string? ParsePostgres(YamlNode node)
    {
        const string path = "storage.postgres";
        if (!TryNonEmpty(node, path, out var value))
        {
            return null;
        }

        var text = value.Value;
        if (text.Contains("://", StringComparison.Ordinal))
        {
            Error(value.Line, path, "a URL is not accepted: write the connection as keyword=value pairs, " + PostgresExample);
            return null;
        }

        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                // The part is not echoed back: it may be a password.
                Error(value.Line, path, "expected keyword=value pairs separated by ';', " + PostgresExample);
                return null;
            }
        }

        return text;
    }
}
