using Purser.Budgets;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The <c>organization:</c> and <c>teams:</c> sections: the scopes keys, budgets and policies belong to.</summary>
internal sealed class TeamsSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    /// <summary>The organisation of a file that names none.</summary>
    internal const string DefaultOrganization = "default";

    private static readonly string[] TeamFields = [];

    public string ReadOrganization(YamlNode node)
    {
        if (!TryScalar(node, "organization", out var text))
        {
            return DefaultOrganization;
        }

        if (!ScopeRef.IsValidId(text.Value))
        {
            Error(text.Line, "organization", ConfigText.ScopeIdRule);
            return DefaultOrganization;
        }

        return text.Value;
    }

    public Dictionary<string, TeamConfig> Read(YamlNode node, HashSet<string> declared)
    {
        var teams = new Dictionary<string, TeamConfig>(StringComparer.Ordinal);
        if (!TryMapping(node, "teams", out var map))
        {
            return teams;
        }

        foreach (var (idNode, body) in Entries(map, "teams"))
        {
            var id = idNode.Value ?? string.Empty;
            var path = "teams." + id;
            declared.Add(id);
            var before = ErrorCount;
            if (!ScopeRef.IsValidId(id))
            {
                Error(idNode.Start.Line, path, ConfigText.ScopeIdRule);
            }

            if (TryMapping(body, path, out var fields))
            {
                // No team fields yet: "platform: {}" declares a team, and anything inside is a typo to report.
                Fields(fields, path, TeamFields);
            }

            if (ErrorCount == before)
            {
                teams[id] = new TeamConfig(id);
            }
        }

        return teams;
    }
}
