using Microsoft.AspNetCore.Http;
using Purser.Gateway.Errors;
using Purser.Pricing;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Refuses an <c>anthropic-beta</c> value the operator has not allowed (it may switch on billing the bound does not
/// know), and widens the bound's context window for the 1M-token beta. Checked before any hold.
/// </summary>
internal static class BetaHeaders
{
    public static GatewayError? Check(IHeaderDictionary headers, IReadOnlyList<string> allowed, RequestShape shape)
    {
        string? header = headers["anthropic-beta"];
        if (AnthropicBetas.FirstRefused(header, allowed, out var context1M) is { } refused)
        {
            return new GatewayError(
                GatewayErrorCode.InvalidRequest,
                $"The anthropic-beta value '{refused}' is not allowed on this gateway: a beta can change what a call is billed. An operator can allow it under server.anthropic_betas.",
                "anthropic-beta");
        }

        if (context1M)
        {
            shape.ContextWindowAtLeast = AnthropicBetas.Context1MWindow;
        }

        return null;
    }
}
