namespace Purser.Configuration;

/// <summary><c>storage.postgres</c>: the shared PostgreSQL database of a multi-instance deployment.</summary>
internal sealed partial class ConfigParser
{
    private const string PostgresExample = "e.g. \"Host=db.internal;Username=purser;Password=${PGPASSWORD};Database=purser\"";

    /// <summary>
    /// An Npgsql connection string (keyword=value pairs separated by ';'), usually with its password from the environment.
    /// Only its shape is checked here: Core does not reference Npgsql, and the gateway reports what the server says at start-up.
    /// </summary>
    private string? ParsePostgres(YamlDotNet.RepresentationModel.YamlNode node)
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
