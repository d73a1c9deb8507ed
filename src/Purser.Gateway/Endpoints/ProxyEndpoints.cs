using Purser.Gateway.Configuration;
using Purser.Gateway.Proxy;

namespace Purser.Gateway.Endpoints;

/// <summary>The provider-compatible surface under <c>/v1</c>.</summary>
internal static class ProxyEndpoints
{
    public static IEndpointRouteBuilder MapProxyEndpoints(this IEndpointRouteBuilder routes)
    {
        var v1 = routes.MapGroup("/v1");
        v1.MapPost("/chat/completions", (HttpContext context, ChatProxy proxy) => proxy.HandleChatCompletionsAsync(context));
        v1.MapPost("/messages", (HttpContext context, ChatProxy proxy) => proxy.HandleMessagesAsync(context));
        v1.MapPost("/embeddings", (HttpContext context, EmbeddingsProxy proxy) => proxy.HandleAsync(context));
        v1.MapGet("/models", (HttpContext context, ConfigMonitor config, TimeProvider time) => ModelsEndpoint.HandleAsync(context, config, time));
        v1.MapGet("/budget", (HttpContext context, ConfigMonitor config, Budgets.BudgetAdmission budgets, Purser.Budgets.IBudgetLedger ledger, TimeProvider time) => BudgetEndpoint.HandleAsync(context, config, budgets, ledger, time));
        routes.MapGet("/health", () => Results.Text("ok"));
        return routes;
    }
}
