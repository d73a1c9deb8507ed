using Purser.Gateway.Configuration;
using Purser.Gateway.Proxy;

namespace Purser.Gateway.Endpoints;

/// <summary>The provider-compatible surface under <c>/v1</c>.</summary>
internal static class ProxyEndpoints
{
    public static IEndpointRouteBuilder MapProxyEndpoints(this IEndpointRouteBuilder routes)
    {
        var v1 = routes.MapGroup("/v1");

        // The proxy routes are plain request delegates over the singleton proxies, resolved once: a delegate with a
        // service parameter would bind it through RequestServices, creating and disposing a DI scope per request.
        var services = routes.ServiceProvider;
        ChatProxy? chat = null;
        EmbeddingsProxy? embeddings = null;
        v1.MapPost("/chat/completions", context => (chat ??= services.GetRequiredService<ChatProxy>()).HandleChatCompletionsAsync(context));
        v1.MapPost("/messages", context => (chat ??= services.GetRequiredService<ChatProxy>()).HandleMessagesAsync(context));
        v1.MapPost("/embeddings", context => (embeddings ??= services.GetRequiredService<EmbeddingsProxy>()).HandleAsync(context));
        v1.MapGet("/models", (HttpContext context, ConfigMonitor config, TimeProvider time) => ModelsEndpoint.HandleAsync(context, config, time));
        v1.MapGet("/budget", (HttpContext context, ConfigMonitor config, Budgets.BudgetAdmission budgets, Purser.Budgets.IBudgetLedger ledger, TimeProvider time) => BudgetEndpoint.HandleAsync(context, config, budgets, ledger, time));
        ReservationsEndpoint.Map(v1);
        routes.MapGet("/health", () => Results.Text("ok"));
        return routes;
    }
}
