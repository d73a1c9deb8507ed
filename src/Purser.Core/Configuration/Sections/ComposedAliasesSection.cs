using System.Globalization;
using Purser.Ensembles;
using Purser.Pricing;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>
/// The <c>routes:</c> and <c>ensembles:</c> sections: aliases composed of other aliases. A route's targets are chat models
/// or routes (without cycles); an ensemble's panel, judge and degrade target are chat models or routes, never ensembles.
/// </summary>
internal sealed class ComposedAliasesSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    private const int DefaultEnsembleTimeoutMs = 60_000;

    private static readonly string[] RouteFields = ["targets", "cooldown_seconds"];

    private static readonly string[] EnsembleFields =
        ["panel", "judge", "synthesis_prompt", "min_responses", "timeout_ms", "max_total_tokens", "max_panel_calls", "max_cost_usd", "on_exceed", "degrade_to"];

    private static readonly string[] PanelMemberFields = ["model", "temperature", "seed"];

    private static readonly string[] JudgeFields = ["model", "synthesis_prompt"];

    public (Dictionary<string, RouteConfig> Routes, Dictionary<string, EnsembleConfig> Ensembles) Read(
        Dictionary<string, YamlNode> sections, Dictionary<string, ModelConfig> models, HashSet<string> modelAliases)
    {
        var routes = new Dictionary<string, RouteConfig>(StringComparer.Ordinal);
        var ensembles = new Dictionary<string, EnsembleConfig>(StringComparer.Ordinal);
        var routeNames = new HashSet<string>(StringComparer.Ordinal);
        var routeNodes = new List<(YamlScalarNode Name, YamlNode Body)>();
        if (sections.TryGetValue("routes", out var routesNode) && TryMapping(routesNode, "routes", out var routesMap))
        {
            routeNodes = Entries(routesMap, "routes");
            foreach (var (name, _) in routeNodes)
            {
                routeNames.Add(name.Value!);
            }
        }

        var ensembleNodes = new List<(YamlScalarNode Name, YamlNode Body)>();
        var ensembleNames = new HashSet<string>(StringComparer.Ordinal);
        if (sections.TryGetValue("ensembles", out var ensemblesNode) && TryMapping(ensemblesNode, "ensembles", out var ensemblesMap))
        {
            ensembleNodes = Entries(ensemblesMap, "ensembles");
            foreach (var (name, _) in ensembleNodes)
            {
                ensembleNames.Add(name.Value!);
            }
        }

        var lookup = new ComposedAliases(models, routeNames, ensembleNames);
        foreach (var (nameNode, body) in routeNodes)
        {
            var route = ParseRoute(nameNode, body, modelAliases, lookup);
            if (route is not null)
            {
                routes[route.Alias] = route;
            }
        }

        RefuseRouteCycles(routes, routeNodes);
        foreach (var (nameNode, body) in ensembleNodes)
        {
            var ensemble = ParseEnsemble(nameNode, body, modelAliases, routeNames, lookup);
            if (ensemble is not null)
            {
                ensembles[ensemble.Alias] = ensemble;
            }
        }

        return (routes, ensembles);
    }

    /// <summary>Keys may name any alias a caller can send: models, routes and ensembles.</summary>
    internal static HashSet<string> CallableAliases(HashSet<string> models, Dictionary<string, RouteConfig> routes, Dictionary<string, EnsembleConfig> ensembles)
    {
        var all = new HashSet<string>(models, StringComparer.Ordinal);
        all.UnionWith(routes.Keys);
        all.UnionWith(ensembles.Keys);
        return all;
    }

    internal RouteConfig? ParseRoute(YamlScalarNode nameNode, YamlNode body, HashSet<string> modelAliases, ComposedAliases lookup)
    {
        var alias = nameNode.Value ?? string.Empty;
        var path = "routes." + alias;
        var before = ErrorCount;
        CheckComposedAliasName(nameNode, path, modelAliases);
        if (!TryMapping(body, path, out var map))
        {
            return null;
        }

        var fields = Fields(map, path, RouteFields);
        var targets = new List<string>();
        if (!fields.TryGetValue("targets", out var targetsNode))
        {
            Error(nameNode.Start.Line, path + ".targets", "is required (an ordered list of model or route aliases)");
        }
        else if (TrySequence(targetsNode, path + ".targets", out var sequence))
        {
            if (sequence.Children.Count == 0)
            {
                Error(sequence.Start.Line, path + ".targets", "must name at least one target");
            }

            for (var i = 0; i < sequence.Children.Count; i++)
            {
                var targetPath = path + ".targets[" + i.ToString(CultureInfo.InvariantCulture) + "]";
                if (TryNonEmpty(sequence.Children[i], targetPath, out var target) && CheckCallable(target, targetPath, lookup, allowRoutes: true))
                {
                    targets.Add(target.Value);
                }
            }
        }

        var cooldown = 30;
        if (fields.TryGetValue("cooldown_seconds", out var cooldownNode) && TryInteger(cooldownNode, path + ".cooldown_seconds", 0, 86_400, out var seconds))
        {
            cooldown = (int)seconds;
        }

        return ErrorCount == before ? new RouteConfig { Alias = alias, Targets = targets, CooldownSeconds = cooldown } : null;
    }

    internal EnsembleConfig? ParseEnsemble(YamlScalarNode nameNode, YamlNode body, HashSet<string> modelAliases, HashSet<string> routeNames, ComposedAliases lookup)
    {
        var alias = nameNode.Value ?? string.Empty;
        var path = "ensembles." + alias;
        var before = ErrorCount;
        CheckComposedAliasName(nameNode, path, modelAliases);
        if (routeNames.Contains(alias))
        {
            Error(nameNode.Start.Line, path, $"'{alias}' is already a route alias");
        }

        if (!TryMapping(body, path, out var map))
        {
            return null;
        }

        var fields = Fields(map, path, EnsembleFields);
        var panel = new List<PanelMember>();
        var panelSize = 0;
        if (!fields.TryGetValue("panel", out var panelNode))
        {
            Error(nameNode.Start.Line, path + ".panel", "is required (a list of model or route aliases)");
        }
        else if (TrySequence(panelNode, path + ".panel", out var sequence))
        {
            if (sequence.Children.Count == 0)
            {
                Error(sequence.Start.Line, path + ".panel", "must name at least one member");
            }

            panelSize = sequence.Children.Count;
            for (var i = 0; i < sequence.Children.Count; i++)
            {
                var member = ParsePanelMember(sequence.Children[i], path + ".panel[" + i.ToString(CultureInfo.InvariantCulture) + "]", lookup);
                if (member is not null)
                {
                    panel.Add(member);
                }
            }
        }

        string? judge = null;
        string? prompt = null;
        if (!fields.TryGetValue("judge", out var judgeNode))
        {
            Error(nameNode.Start.Line, path + ".judge", "is required (a model or route alias)");
        }
        else if (judgeNode is YamlMappingNode judgeMap)
        {
            var judgeFields = Fields(judgeMap, path + ".judge", JudgeFields);
            if (!judgeFields.TryGetValue("model", out var judgeModel))
            {
                Error(judgeMap.Start.Line, path + ".judge.model", "is required");
            }
            else if (TryNonEmpty(judgeModel, path + ".judge.model", out var judgeAlias) && CheckCallable(judgeAlias, path + ".judge.model", lookup, allowRoutes: true))
            {
                judge = judgeAlias.Value;
            }

            if (judgeFields.TryGetValue("synthesis_prompt", out var promptNode) && TryNonEmpty(promptNode, path + ".judge.synthesis_prompt", out var promptText))
            {
                prompt = promptText.Value;
            }
        }
        else if (TryNonEmpty(judgeNode, path + ".judge", out var judgeAlias) && CheckCallable(judgeAlias, path + ".judge", lookup, allowRoutes: true))
        {
            judge = judgeAlias.Value;
        }

        if (fields.TryGetValue("synthesis_prompt", out var topPrompt) && TryNonEmpty(topPrompt, path + ".synthesis_prompt", out var topPromptText))
        {
            if (prompt is not null)
            {
                Error(topPromptText.Line, path + ".synthesis_prompt", "is also given under judge: give it once");
            }

            prompt = topPromptText.Value;
        }

        var minResponses = Math.Min(2, Math.Max(1, panelSize));
        if (fields.TryGetValue("min_responses", out var minNode) && TryInteger(minNode, path + ".min_responses", 1, int.MaxValue, out var min))
        {
            if (min > panelSize && panelSize > 0)
            {
                Error(minNode.Start.Line, path + ".min_responses", $"{min.ToString(CultureInfo.InvariantCulture)} is larger than the panel ({panelSize.ToString(CultureInfo.InvariantCulture)} members)");
            }

            minResponses = (int)min;
        }

        var timeout = DefaultEnsembleTimeoutMs;
        if (fields.TryGetValue("timeout_ms", out var timeoutNode) && TryInteger(timeoutNode, path + ".timeout_ms", 1, 3_600_000, out var ms))
        {
            timeout = (int)ms;
        }

        var guardrail = ParseGuardrail(fields, path, lookup);
        if (ErrorCount != before || judge is null)
        {
            return null;
        }

        return new EnsembleConfig
        {
            Alias = alias,
            Panel = panel,
            Judge = judge,
            SynthesisPrompt = prompt ?? EnsembleConfig.DefaultSynthesisPrompt,
            MinResponses = minResponses,
            TimeoutMs = timeout,
            Guardrail = guardrail,
        };
    }

    private EnsembleGuardrail ParseGuardrail(Dictionary<string, YamlNode> fields, string path, ComposedAliases lookup)
    {
        var guardrail = new EnsembleGuardrail();
        if (fields.TryGetValue("max_total_tokens", out var tokensNode) && TryInteger(tokensNode, path + ".max_total_tokens", 0, long.MaxValue, out var tokens))
        {
            guardrail = guardrail with { MaxTotalTokens = tokens };
        }

        if (fields.TryGetValue("max_panel_calls", out var callsNode) && TryInteger(callsNode, path + ".max_panel_calls", 0, int.MaxValue, out var calls))
        {
            guardrail = guardrail with { MaxPanelCalls = (int)calls };
        }

        if (fields.TryGetValue("max_cost_usd", out var costNode) && TryScalar(costNode, path + ".max_cost_usd", out var costText, ScalarKind.Amount))
        {
            if (!Money.TryParseUsd(costText.Value, out var cost))
            {
                Error(costText.Line, path + ".max_cost_usd", $"expected a USD amount such as 0.05 (at most 9 decimals), got {costText.Describe()}");
            }
            else if (cost < Money.Zero)
            {
                Error(costText.Line, path + ".max_cost_usd", "must not be negative");
            }
            else
            {
                guardrail = guardrail with { MaxCostUsd = cost };
            }
        }

        if (fields.TryGetValue("on_exceed", out var exceedNode) && TryScalar(exceedNode, path + ".on_exceed", out var exceedText))
        {
            switch (exceedText.Value.ToUpperInvariant())
            {
                case "DEGRADE":
                    guardrail = guardrail with { OnExceed = ExceedAction.Degrade };
                    break;
                case "FAIL":
                    guardrail = guardrail with { OnExceed = ExceedAction.Fail };
                    break;
                default:
                    Error(exceedText.Line, path + ".on_exceed", $"unknown value {exceedText.Describe()} (expected degrade or fail)");
                    break;
            }
        }

        if (fields.TryGetValue("degrade_to", out var degradeNode) && TryNonEmpty(degradeNode, path + ".degrade_to", out var target))
        {
            if (target.Value is EnsembleGuardrail.DegradeToJudge or EnsembleGuardrail.DegradeToFirstPanel
                || CheckCallable(target, path + ".degrade_to", lookup, allowRoutes: true))
            {
                guardrail = guardrail with { DegradeTo = target.Value };
            }
        }

        return guardrail;
    }

    private PanelMember? ParsePanelMember(YamlNode node, string path, ComposedAliases lookup)
    {
        if (node is not YamlMappingNode map)
        {
            return TryNonEmpty(node, path, out var plain) && CheckCallable(plain, path, lookup, allowRoutes: true) ? new PanelMember(plain.Value) : null;
        }

        var before = ErrorCount;
        var fields = Fields(map, path, PanelMemberFields);
        string? model = null;
        if (!fields.TryGetValue("model", out var modelNode))
        {
            Error(map.Start.Line, path + ".model", "is required");
        }
        else if (TryNonEmpty(modelNode, path + ".model", out var alias) && CheckCallable(alias, path + ".model", lookup, allowRoutes: true))
        {
            model = alias.Value;
        }

        double? temperature = null;
        if (fields.TryGetValue("temperature", out var temperatureNode) && TryScalar(temperatureNode, path + ".temperature", out var temperatureText, ScalarKind.Amount))
        {
            if (!double.TryParse(temperatureText.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var t) || t < 0 || t > 2)
            {
                Error(temperatureText.Line, path + ".temperature", $"expected a number from 0 to 2, got {temperatureText.Describe()}");
            }
            else
            {
                temperature = t;
            }
        }

        long? seed = null;
        if (fields.TryGetValue("seed", out var seedNode) && TryInteger(seedNode, path + ".seed", long.MinValue, long.MaxValue, out var s))
        {
            seed = s;
        }

        return ErrorCount == before && model is not null ? new PanelMember(model, temperature, seed) : null;
    }

    private void CheckComposedAliasName(YamlScalarNode nameNode, string path, HashSet<string> modelAliases)
    {
        var alias = nameNode.Value ?? string.Empty;
        if (alias.Length == 0 || alias.AsSpan().ContainsAny(" \t\r\n"))
        {
            Error(nameNode.Start.Line, path, "an alias must be non-empty and contain no whitespace");
        }
        else if (modelAliases.Contains(alias))
        {
            Error(nameNode.Start.Line, path, $"'{alias}' is already a model alias");
        }
    }

    /// <summary>A reference must be a chat model or a route: an ensemble inside an ensemble would multiply its cost unseen.</summary>
    private bool CheckCallable(ConfigScalar alias, string path, ComposedAliases lookup, bool allowRoutes)
    {
        if (lookup.Models.TryGetValue(alias.Value, out var model))
        {
            if (model.Kind != ModelKind.Chat)
            {
                Error(alias.Line, path, $"{alias.Describe()} is an embeddings model, not a chat model");
                return false;
            }

            return true;
        }

        if (allowRoutes && lookup.Routes.Contains(alias.Value))
        {
            return true;
        }

        Error(alias.Line, path, lookup.Ensembles.Contains(alias.Value)
            ? $"{alias.Describe()} is an ensemble; ensembles cannot be members, judges, targets or degrade targets"
            : $"unknown model or route alias {alias.Describe()}");
        return false;
    }

    /// <summary>Routes naming routes must end at models: a cycle would fail over forever.</summary>
    private void RefuseRouteCycles(Dictionary<string, RouteConfig> routes, List<(YamlScalarNode Name, YamlNode Body)> nodes)
    {
        foreach (var (nameNode, _) in nodes)
        {
            var stack = new List<string>();
            if (Cycle(nameNode.Value!, routes, stack) is { } cycle && cycle[0] == nameNode.Value)
            {
                Error(nameNode.Start.Line, "routes." + nameNode.Value + ".targets", "alias cycle: " + string.Join(" -> ", cycle));
            }
        }
    }

    internal static List<string>? Cycle(string alias, Dictionary<string, RouteConfig> routes, List<string> stack)
    {
        if (!routes.TryGetValue(alias, out var route))
        {
            return null;
        }

        var at = stack.IndexOf(alias);
        if (at >= 0)
        {
            var cycle = stack.GetRange(at, stack.Count - at);
            cycle.Add(alias);
            return cycle;
        }

        stack.Add(alias);
        foreach (var target in route.Targets)
        {
            if (Cycle(target, routes, stack) is { } found)
            {
                return found;
            }
        }

        stack.RemoveAt(stack.Count - 1);
        return null;
    }
}
