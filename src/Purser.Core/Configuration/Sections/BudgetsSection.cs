using System.Globalization;
using Purser.Budgets;
using Purser.Pricing;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The <c>budgets:</c> section: caps on a scope over a window, with their degrade options.</summary>
internal sealed class BudgetsSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    private static readonly string[] BudgetFields =
        ["id", "scope", "under", "model", "window", "timezone", "cap_usd", "cap_tokens", "enforcement", "mode", "alert_thresholds", "degrade"];

    private static readonly string[] DegradeFields = ["fallback_model", "min_max_tokens", "throttle_rpm"];

    public List<BudgetDefinition> Read(YamlNode node, BudgetScopes scopes)
    {
        var budgets = new List<BudgetDefinition>();
        if (!TrySequence(node, "budgets", out var sequence))
        {
            return budgets;
        }

        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var path = "budgets[" + i.ToString(CultureInfo.InvariantCulture) + "]";
            if (ReadEntry(sequence.Children[i], path, null, scopes, ids) is { } budget)
            {
                budgets.Add(budget);
            }
        }

        return budgets;
    }

    /// <summary>
    /// One budget at <paramref name="path"/>, from the file (<paramref name="fixedId"/> null, ids unique across
    /// <paramref name="ids"/>) or from an admin body (<paramref name="fixedId"/> the path's id; the body may repeat it,
    /// not differ). Null, with every error recorded, when it is invalid.
    /// </summary>
    internal BudgetDefinition? ReadEntry(YamlNode node, string path, string? fixedId, BudgetScopes scopes, Dictionary<string, string> ids)
    {
        var before = ErrorCount;
        if (!TryMapping(node, path, out var map))
        {
            return null;
        }

        var line = map.Start.Line;
        var fields = Fields(map, path, BudgetFields);
        var id = fixedId;
        if (fixedId is not null && !ScopeRef.IsValidId(fixedId))
        {
            Error(null, path + ".id", "budget ids are 1-128 characters of A-Z, a-z, 0-9, '.', '_', '-' and ':'");
            id = null;
        }

        if (!fields.TryGetValue("id", out var idNode))
        {
            if (fixedId is null)
            {
                Error(line, path + ".id", "is required");
            }
        }
        else if (TryScalar(idNode, path + ".id", out var idText))
        {
            if (!ScopeRef.IsValidId(idText.Value))
            {
                Error(idText.Line, path + ".id", "budget ids are 1-128 characters of A-Z, a-z, 0-9, '.', '_', '-' and ':'");
            }
            else if (fixedId is not null && !string.Equals(fixedId, idText.Value, StringComparison.Ordinal))
            {
                Error(idText.Line, path + ".id", $"the body's id {idText.Describe()} differs from the id in the path ('{fixedId}')");
            }
            else if (fixedId is null && !ids.TryAdd(idText.Value, path))
            {
                Error(idText.Line, path + ".id", $"duplicate budget id {idText.Describe()} (also {ids[idText.Value]})");
            }
            else
            {
                id = idText.Value;
            }
        }

        ScopeRef? scope = null;
        if (!fields.TryGetValue("scope", out var scopeNode))
        {
            Error(line, path + ".scope", $"is required (org:{scopes.Organization}, team:<team> or key:<key>)");
        }
        else if (TryScalar(scopeNode, path + ".scope", out var scopeText))
        {
            scope = ParseBudgetScope(scopeText, path + ".scope", scopes);
        }

        ScopeRef? under = null;
        if (fields.TryGetValue("under", out var underNode) && TryScalar(underNode, path + ".under", out var underText))
        {
            under = ParseUnder(underText, path + ".under", scope, scopes);
        }

        string? model = null;
        if (fields.TryGetValue("model", out var modelNode) && TryScalar(modelNode, path + ".model", out var modelText))
        {
            if (scopes.Aliases.Contains(modelText.Value))
            {
                model = modelText.Value;
            }
            else
            {
                Error(modelText.Line, path + ".model", $"unknown model alias {modelText.Describe()}");
            }
        }

        var window = BudgetWindowKind.Daily;
        if (fields.TryGetValue("window", out var windowNode) && TryScalar(windowNode, path + ".window", out var windowText)
            && !BudgetWindows.TryParseKind(windowText.Value, out window))
        {
            Error(windowText.Line, path + ".window", $"unknown window {windowText.Describe()} (expected {BudgetWindows.KindList})");
        }

        var timeZone = "UTC";
        if (fields.TryGetValue("timezone", out var zoneNode) && TryNonEmpty(zoneNode, path + ".timezone", out var zoneText))
        {
            if (TimeZoneInfo.TryFindSystemTimeZoneById(zoneText.Value, out _))
            {
                timeZone = zoneText.Value;
            }
            else
            {
                Error(zoneText.Line, path + ".timezone", $"unknown time zone {zoneText.Describe()} (expected an IANA name such as Europe/Oslo or UTC)");
            }
        }

        Money? capUsd = null;
        if (fields.TryGetValue("cap_usd", out var capUsdNode) && TryUsd(capUsdNode, path + ".cap_usd", out var cap))
        {
            capUsd = cap;
        }

        long? capTokens = null;
        if (fields.TryGetValue("cap_tokens", out var capTokensNode) && TryInteger(capTokensNode, path + ".cap_tokens", 0, long.MaxValue, out var tokens))
        {
            capTokens = tokens;
        }

        if (capUsdNode is null && capTokensNode is null)
        {
            Error(line, path + ".cap_usd", "give cap_usd, cap_tokens or both: a budget without a cap limits nothing");
        }

        var enforcement = Enforcement.Hard;
        if (fields.TryGetValue("enforcement", out var enforcementNode) && TryScalar(enforcementNode, path + ".enforcement", out var enforcementText))
        {
            switch (enforcementText.Value.ToUpperInvariant())
            {
                case "HARD":
                    enforcement = Enforcement.Hard;
                    break;
                case "SOFT":
                    enforcement = Enforcement.Soft;
                    break;
                default:
                    Error(enforcementText.Line, path + ".enforcement", $"unknown enforcement {enforcementText.Describe()} (expected hard or soft)");
                    break;
            }
        }

        var mode = AccountingMode.Reserve;
        if (fields.TryGetValue("mode", out var modeNode) && TryScalar(modeNode, path + ".mode", out var modeText))
        {
            switch (modeText.Value.ToUpperInvariant())
            {
                case "RESERVE":
                    mode = AccountingMode.Reserve;
                    break;
                case "POST_HOC":
                    mode = AccountingMode.PostHoc;
                    break;
                default:
                    Error(modeText.Line, path + ".mode", $"unknown mode {modeText.Describe()} (expected reserve or post_hoc)");
                    break;
            }
        }

        IReadOnlyList<int> thresholds = [50, 80, 100];
        if (fields.TryGetValue("alert_thresholds", out var thresholdsNode))
        {
            thresholds = ParseThresholds(thresholdsNode, path + ".alert_thresholds");
        }

        DegradeOptions? degrade = null;
        if (fields.TryGetValue("degrade", out var degradeNode))
        {
            degrade = ParseDegrade(degradeNode, path + ".degrade", scopes);
        }

        if (ErrorCount != before || id is null || scope is not { } s)
        {
            return null;
        }

        return new BudgetDefinition
        {
            Id = id,
            Scope = s,
            Under = under,
            Model = model,
            Window = window,
            TimeZone = timeZone,
            CapUsd = capUsd,
            CapTokens = capTokens,
            Enforcement = enforcement,
            Mode = mode,
            AlertThresholds = thresholds,
            Degrade = degrade,
        };
    }

    // A task exists only while an agent runs: its budget comes from the x-budget-ceiling header.
    internal ScopeRef? ParseBudgetScope(ConfigScalar text, string path, BudgetScopes scopes) =>
        ParseScope(text, path, "org:<organization>, team:<team>, key:<key>, tag:<tag>, global or user:*", scopes.Organization, scopes.Teams, scopes.Keys,
            " (define it under keys:)", "task budgets are created at run time (x-budget-ceiling), not in the config file");

    /// <summary>"under" narrows the end-user template to one key's or one team's end users; no other scope takes it.</summary>
    private ScopeRef? ParseUnder(ConfigScalar text, string path, ScopeRef? scope, BudgetScopes scopes)
    {
        if (scope is not { Kind: ScopeKind.EndUser })
        {
            Error(text.Line, path, "only a user:* budget is under a key or team");
            return null;
        }

        if (!ScopeRef.TryParse(text.Value, out var parsed) || parsed.Value.Kind is not (ScopeKind.Key or ScopeKind.Team))
        {
            Error(text.Line, path, $"expected key:<key> or team:<team>, got {text.Describe()}");
            return null;
        }

        var under = parsed.Value;
        if (under.Kind == ScopeKind.Team ? !scopes.Teams.Contains(under.Id) : !scopes.Keys.Contains(under.Id))
        {
            Error(text.Line, path, $"unknown {(under.Kind == ScopeKind.Team ? "team" : "key")} in {text.Describe()}");
            return null;
        }

        return under;
    }

    private int[] ParseThresholds(YamlNode node, string path)
    {
        if (!TrySequence(node, path, out var sequence))
        {
            return [];
        }

        var thresholds = new int[sequence.Children.Count];
        var previous = 0;
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var itemPath = path + "[" + i.ToString(CultureInfo.InvariantCulture) + "]";
            if (!TryInteger(sequence.Children[i], itemPath, 1, 100, out var percent))
            {
                continue;
            }

            if (percent <= previous)
            {
                Error(sequence.Children[i].Start.Line, itemPath, $"thresholds must be strictly increasing: {percent.ToString(CultureInfo.InvariantCulture)} follows {previous.ToString(CultureInfo.InvariantCulture)}");
            }

            thresholds[i] = (int)percent;
            previous = (int)percent;
        }

        return thresholds;
    }

    private DegradeOptions? ParseDegrade(YamlNode node, string path, BudgetScopes scopes)
    {
        if (!TryMapping(node, path, out var map))
        {
            return null;
        }

        var fields = Fields(map, path, DegradeFields);
        string? fallback = null;
        if (fields.TryGetValue("fallback_model", out var fallbackNode) && TryScalar(fallbackNode, path + ".fallback_model", out var alias))
        {
            if (scopes.Models.TryGetValue(alias.Value, out var model))
            {
                if (model.Kind == ModelKind.Chat)
                {
                    fallback = alias.Value;
                }
                else
                {
                    Error(alias.Line, path + ".fallback_model", $"{alias.Describe()} is not a chat model");
                }
            }
            else if (!scopes.Aliases.Contains(alias.Value))
            {
                // A declared alias missing from Models has its own error already; only unknown names are reported here.
                Error(alias.Line, path + ".fallback_model", $"unknown model alias {alias.Describe()}");
            }
        }

        int? minMaxTokens = null;
        if (fields.TryGetValue("min_max_tokens", out var minNode) && TryInteger(minNode, path + ".min_max_tokens", 1, int.MaxValue, out var min))
        {
            minMaxTokens = (int)min;
        }

        int? throttle = null;
        if (fields.TryGetValue("throttle_rpm", out var throttleNode) && TryInteger(throttleNode, path + ".throttle_rpm", 1, RateLimits.RateLimitDefinition.MaxConcurrentCap, out var rpm))
        {
            throttle = (int)rpm;
        }

        if (fallbackNode is null && minNode is null && throttleNode is null)
        {
            Error(map.Start.Line, path, "give fallback_model, min_max_tokens, throttle_rpm or several");
            return null;
        }

        return new DegradeOptions { FallbackModel = fallback, MinMaxTokens = minMaxTokens, ThrottleRpm = throttle };
    }
}
