using Purser.Ensembles;
using Purser.Gateway.Budgets;
using Purser.Gateway.Routing;
using Purser.Gateway.Wire;
using Purser.Gateway.Pipeline;

namespace Purser.Gateway.Ensembles;

/// <summary>The judge's answer streamed to a caller who asked for a stream, settled from the judge's reported or counted usage.</summary>
internal sealed partial class EnsembleExecutor
{
    private async Task StreamJudgeAsync(HttpContext context, CallRecord call, EnsemblePlan plan, PanelRun ran, StreamedCall judge, Spend spend, ApiFormat callerFormat, bool includeUsage)
    {
        using (judge)
        {
            var model = judge.Model!;
            Report(context, call, plan, ran.Degraded);

            // The actual cost is not known until the judge has finished: a streaming caller finds it in the usage chunk.
            context.Response.Headers["x-ensemble-served-by"] = model.Alias;
            call.Provider = model.Upstream.Name;
            call.UpstreamModel = model.Model.UpstreamModel;
            if (call.Admission is { } admission)
            {
                BudgetHeaders.Apply(context.Response, admission.WhileRunning);
            }

            var outcome = await JudgeStreamRelay.RelayAsync(context, judge, callerFormat, includeUsage, call.RequestId, call.ModelAlias, _time.GetUtcNow().ToUnixTimeSeconds(),
                spend.Usage, spend.Cost, ran.JudgeInputBound).ConfigureAwait(false);
            var price = model.Model.Price ?? Pricing.ModelPrice.Free;
            var status = outcome.ClientGone ? 499 : 200;
            await _usage.FinishAsync(call, status, outcome.ErrorCode, spend.Usage + outcome.JudgeUsage, outcome.Source, spend.Cost + price.Cost(outcome.JudgeUsage),
                ran.Degraded is null ? null : "ensemble:" + ran.Degraded).ConfigureAwait(false);
        }
    }
}
