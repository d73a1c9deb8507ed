using System.Globalization;
using Purser.Keys;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The <c>keys:</c> section: the callers' keys (id, hash or secret, models, expiry, team, trust flags).</summary>
internal sealed class KeysSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    private static readonly string[] KeyFields = ["id", "hash", "secret", "models", "expires_at", "team", "trust_end_user", "trust_tags"];
    private static readonly string[] AdminKeyFields = ["id", "models", "expires_at", "team", "trust_end_user", "trust_tags"];

    public List<KeyConfig> Read(YamlNode node, HashSet<string> aliases, HashSet<string> teams, HashSet<string> declared)
    {
        var keys = new List<KeyConfig>();
        if (!TrySequence(node, "keys", out var sequence))
        {
            return keys;
        }

        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var path = "keys[" + i.ToString(CultureInfo.InvariantCulture) + "]";
            if (ReadEntry(sequence.Children[i], path, fromFile: true, aliases, teams, ids, hashes, declared) is { } key)
            {
                keys.Add(key);
            }
        }

        return keys;
    }

    /// <summary>
    /// One key at <paramref name="path"/>. From the file (<paramref name="fromFile"/>) it needs a hash or secret, unique
    /// across <paramref name="hashes"/>, and an id unique across <paramref name="ids"/>; from an admin body it has neither
    /// hash nor secret (the gateway makes the secret) and its <see cref="KeyConfig.Hash"/> is empty. Null, with every
    /// error recorded, when it is invalid. A valid id joins <paramref name="declared"/> even when the key is not, so that
    /// a budget naming it is not reported too.
    /// </summary>
    internal KeyConfig? ReadEntry(YamlNode node, string path, bool fromFile, HashSet<string> aliases, HashSet<string> teams, Dictionary<string, string> ids, Dictionary<string, string> hashes, HashSet<string>? declared = null)
    {
        var before = ErrorCount;
        if (!TryMapping(node, path, out var map))
        {
            return null;
        }

        var line = map.Start.Line;
        var fields = Fields(map, path, fromFile ? KeyFields : AdminKeyFields);
        string? id = null;
        if (!fields.TryGetValue("id", out var idNode))
        {
            Error(line, path + ".id", "is required");
        }
        else if (TryNonEmpty(idNode, path + ".id", out var idText))
        {
            if (!ConfigText.IsKeyId(idText.Value))
            {
                Error(idText.Line, path + ".id", "key ids use only A-Z, a-z, 0-9, '_', '.' and '-'");
            }
            else if (!ids.TryAdd(idText.Value, path))
            {
                Error(idText.Line, path + ".id", $"duplicate key id {idText.Describe()} (also {ids[idText.Value]})");
            }
            else
            {
                id = idText.Value;
                declared?.Add(id);
            }
        }

        // A key sent to the admin API has no hash: the gateway makes its secret and shows it once.
        var hash = fromFile ? ParseKeyHash(fields, path, line) : string.Empty;
        if (fromFile && hash is not null && !hashes.TryAdd(hash, path))
        {
            // Same secret twice would make the ring unable to tell the two keys apart.
            Error(line, path + (fields.ContainsKey("secret") ? ".secret" : ".hash"), $"duplicate hash: same secret as {hashes[hash]}");
        }

        var allowed = new List<string>();
        if (fields.TryGetValue("models", out var modelsNode) && TrySequence(modelsNode, path + ".models", out var modelList))
        {
            for (var j = 0; j < modelList.Children.Count; j++)
            {
                var itemPath = path + ".models[" + j.ToString(CultureInfo.InvariantCulture) + "]";
                if (!TryScalar(modelList.Children[j], itemPath, out var alias))
                {
                    continue;
                }

                if (aliases.Contains(alias.Value))
                {
                    allowed.Add(alias.Value);
                }
                else
                {
                    Error(alias.Line, itemPath, $"unknown model alias {alias.Describe()}");
                }
            }
        }

        DateTimeOffset? expiresAt = null;
        if (fields.TryGetValue("expires_at", out var expiresNode) && TryTimestamp(expiresNode, path + ".expires_at", out var timestamp))
        {
            expiresAt = timestamp;
        }

        string? team = null;
        if (fields.TryGetValue("team", out var teamNode) && TryScalar(teamNode, path + ".team", out var teamName))
        {
            if (teams.Contains(teamName.Value))
            {
                team = teamName.Value;
            }
            else
            {
                Error(teamName.Line, path + ".team", $"unknown team {teamName.Describe()} (define it under teams:)");
            }
        }

        var trustEndUser = false;
        if (fields.TryGetValue("trust_end_user", out var trustUserNode) && TryBool(trustUserNode, path + ".trust_end_user", out var trustsUser))
        {
            trustEndUser = trustsUser;
        }

        var trustTags = false;
        if (fields.TryGetValue("trust_tags", out var trustTagsNode) && TryBool(trustTagsNode, path + ".trust_tags", out var trustsTags))
        {
            trustTags = trustsTags;
        }

        return ErrorCount == before && id is not null && hash is not null
            ? new KeyConfig { Id = id, Hash = hash, AllowedModels = allowed, ExpiresAt = expiresAt, Team = team, TrustEndUser = trustEndUser, TrustTags = trustTags }
            : null;
    }

    private string? ParseKeyHash(Dictionary<string, YamlNode> fields, string path, long line)
    {
        var hasHash = fields.TryGetValue("hash", out var hashNode);
        var hasSecret = fields.TryGetValue("secret", out var secretNode);
        if (hasHash && hasSecret)
        {
            Error(secretNode!.Start.Line, path + ".secret", "give either hash or secret, not both");
            return null;
        }

        if (hasHash)
        {
            return TryHash(hashNode!, path + ".hash", out var hash) ? hash : null;
        }

        if (!hasSecret)
        {
            Error(line, path + ".hash", "is required (or secret: ${ENV_VAR}, hashed on load)");
            return null;
        }

        if (!TryScalar(secretNode!, path + ".secret", out var secret))
        {
            return null;
        }

        if (secret.Value.Length == 0)
        {
            Error(secret.Line, path + ".secret", "must not be empty");
            return null;
        }

        return KeyHasher.Hash(secret.Value);
    }
}
