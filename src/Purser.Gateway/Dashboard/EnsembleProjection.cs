using System.Text;
using System.Text.Json.Nodes;
using Purser.Admin;
using Purser.Budgets;
using Purser.Configuration;
using Purser.Ensembles;
using Purser.Pricing;
using Purser.Gateway.Admin;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Routing;
using Purser.Gateway.AdminServices;

namespace Purser.Gateway.Dashboard;

/// <summary>What an ensemble definition would do with a sample prompt: the first validation error, or the plan.</summary>
internal sealed record EnsembleProjection(string? Error, EnsemblePlan? Plan, string? DegradeTo, long InputBound)
{
    /// <summary>
    /// Parses the (possibly unsaved) definition with the file loader's rules, then plans it as the executor does: the
    /// same shapes of the members, judge and degrade target, and the same <see cref="EnsemblePlanner"/>.
    /// </summary>
    public static EnsembleProjection Of(GatewayState state, string alias, JsonObject definition, string samplePrompt, int? maxTokens, DateTimeOffset now)
    {
        var request = new JsonObject
        {
            ["model"] = alias,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = samplePrompt }),
        };
        if (maxTokens is { } max)
        {
            request["max_tokens"] = max;
        }

        var inputBound = WorstCases.Of(RequestShape.Text(Encoding.UTF8.GetByteCount(request.ToJsonString())), alias, anthropic: false, null, 0).InputTokens;
        if (!ScopeRef.IsValidId(alias))
        {
            return new EnsembleProjection("alias: must be 1–128 letters, digits, '.', '_', '-' or ':'", null, null, inputBound);
        }

        EnsembleConfig ensemble;
        if (state.FileConfig.Ensembles.TryGetValue(alias, out var fromFile))
        {
            ensemble = fromFile;
        }
        else if (StoredAliases.InFile(state.FileConfig, alias))
        {
            return new EnsembleProjection($"alias: '{alias}' is a model or route of the configuration file", null, null, inputBound);
        }
        else
        {
            var next = new List<StoredAlias>(state.AppliedAliases.Count + 1);
            foreach (var applied in state.AppliedAliases)
            {
                if (applied.Alias != alias)
                {
                    next.Add(applied);
                }
            }

            next.Add(new StoredAlias(alias, AliasKind.Ensemble, AliasJson.DefinitionText(definition), now));
            if (StoredAliases.Validate(state.FileConfig, next, AliasKind.Ensemble, alias) is [var first, ..])
            {
                return new EnsembleProjection(first.Field + ": " + first.Message, null, null, inputBound);
            }

            ensemble = StoredAliases.Compose(state.FileConfig, next).Config.Ensembles[alias];
        }

        var panel = new CallShape[ensemble.Panel.Count];
        for (var i = 0; i < panel.Length; i++)
        {
            if (AliasCaller.Shape(state, ensemble.Panel[i].Model, maxTokens, out panel[i]) is { } memberError)
            {
                return new EnsembleProjection(memberError.Message, null, null, inputBound);
            }
        }

        if (AliasCaller.Shape(state, ensemble.Judge, maxTokens, out var judge) is { } judgeError)
        {
            return new EnsembleProjection(judgeError.Message, null, null, inputBound);
        }

        var degradeTo = ensemble.Guardrail.DegradeTo switch
        {
            EnsembleGuardrail.DegradeToJudge => ensemble.Judge,
            EnsembleGuardrail.DegradeToFirstPanel => ensemble.Panel[0].Model,
            var other => other,
        };
        if (AliasCaller.Shape(state, degradeTo, maxTokens, out var degrade) is { } degradeError)
        {
            return new EnsembleProjection(degradeError.Message, null, null, inputBound);
        }

        return new EnsembleProjection(null, EnsemblePlanner.Plan(ensemble, inputBound, panel, judge, degrade), degradeTo, inputBound);
    }
}
