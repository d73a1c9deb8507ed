using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The <c>server:</c> section: listen address, limits, admin key and the Anthropic betas passed through.</summary>
internal sealed class ServerSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    private static readonly string[] ServerFields = ["listen", "max_body_bytes", "upstream_timeout_seconds", "admin_key_hash", "max_open_tasks_per_key", "anthropic_betas", "max_end_users_per_budget"];

    public ServerConfig Read(YamlNode node)
    {
        var server = new ServerConfig();
        if (!TryMapping(node, "server", out var map))
        {
            return server;
        }

        var fields = Fields(map, "server", ServerFields);
        if (fields.TryGetValue("listen", out var listen) && TryHttpUrl(listen, "server.listen", out var listenUrl))
        {
            server = server with { Listen = listenUrl.Value };
        }

        if (fields.TryGetValue("max_body_bytes", out var maxBody) && TryInteger(maxBody, "server.max_body_bytes", 1, long.MaxValue, out var maxBodyBytes))
        {
            server = server with { MaxBodyBytes = maxBodyBytes };
        }

        if (fields.TryGetValue("upstream_timeout_seconds", out var timeout) && TryInteger(timeout, "server.upstream_timeout_seconds", 1, 3600, out var seconds))
        {
            server = server with { UpstreamTimeoutSeconds = (int)seconds };
        }

        if (fields.TryGetValue("admin_key_hash", out var adminHash) && TryHash(adminHash, "server.admin_key_hash", out var hash))
        {
            server = server with { AdminKeyHash = hash };
        }

        if (fields.TryGetValue("max_open_tasks_per_key", out var maxTasks) && TryInteger(maxTasks, "server.max_open_tasks_per_key", 1, 1_000_000, out var openTasks))
        {
            server = server with { MaxOpenTasksPerKey = (int)openTasks };
        }

        if (fields.TryGetValue("max_end_users_per_budget", out var maxUsersNode) && TryInteger(maxUsersNode, "server.max_end_users_per_budget", 1, 10_000_000, out var maxUsers))
        {
            server = server with { MaxEndUsersPerBudget = (int)maxUsers };
        }

        if (fields.TryGetValue("anthropic_betas", out var betasNode) && TrySequence(betasNode, "server.anthropic_betas", out var betas))
        {
            var allowed = new List<string>(betas.Children.Count);
            for (var i = 0; i < betas.Children.Count; i++)
            {
                if (TryNonEmpty(betas.Children[i], $"server.anthropic_betas[{i.ToString(CultureInfo.InvariantCulture)}]", out var beta))
                {
                    allowed.Add(beta.Value);
                }
            }

            server = server with { AnthropicBetas = allowed };
        }

        return server;
    }
}
