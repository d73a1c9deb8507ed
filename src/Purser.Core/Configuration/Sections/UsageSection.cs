using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The <c>usage:</c> section: the retention of the per-request usage records.</summary>
internal sealed class UsageSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    private static readonly string[] UsageFields = ["retention_days"];

    public UsageConfig Read(YamlNode node)
    {
        var usage = new UsageConfig();
        if (!TryMapping(node, "usage", out var map))
        {
            return usage;
        }

        var fields = Fields(map, "usage", UsageFields);

        // At least one day: the overview's hourly chart and today's totals read the last 24 hours of records.
        if (fields.TryGetValue("retention_days", out var daysNode) && TryInteger(daysNode, "usage.retention_days", 1, UsageConfig.MaxRetentionDays, out var days))
        {
            usage = usage with { RetentionDays = (int)days };
        }

        return usage;
    }
}
