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
        CountTokensProxy? countTokens = null;
        Responses.ResponsesProxy? responses = null;
        Responses.StoredResponsesProxy? stored = null;
        v1.MapPost("/chat/completions", context => (chat ??= services.GetRequiredService<ChatProxy>()).HandleChatCompletionsAsync(context));
        v1.MapPost("/messages", context => (chat ??= services.GetRequiredService<ChatProxy>()).HandleMessagesAsync(context));
        v1.MapPost("/messages/count_tokens", context => (countTokens ??= services.GetRequiredService<CountTokensProxy>()).HandleAsync(context));
        v1.MapPost("/embeddings", context => (embeddings ??= services.GetRequiredService<EmbeddingsProxy>()).HandleAsync(context));
        v1.MapPost("/responses", context => (responses ??= services.GetRequiredService<Responses.ResponsesProxy>()).HandleAsync(context));
        v1.MapGet("/responses/{id}", context => (stored ??= services.GetRequiredService<Responses.StoredResponsesProxy>()).HandleAsync(context, ResponseId(context), ""));
        v1.MapDelete("/responses/{id}", context => (stored ??= services.GetRequiredService<Responses.StoredResponsesProxy>()).HandleAsync(context, ResponseId(context), ""));
        v1.MapPost("/responses/{id}/cancel", context => (stored ??= services.GetRequiredService<Responses.StoredResponsesProxy>()).HandleAsync(context, ResponseId(context), "/cancel"));
        v1.MapGet("/responses/{id}/input_items", context => (stored ??= services.GetRequiredService<Responses.StoredResponsesProxy>()).HandleAsync(context, ResponseId(context), "/input_items"));
        v1.MapGet("/models", (HttpContext context, ConfigMonitor config, TimeProvider time) => ModelsEndpoint.HandleAsync(context, config, time));
        v1.MapGet("/models/{*id}", (HttpContext context, ConfigMonitor config, TimeProvider time, string id) => ModelsEndpoint.HandleOneAsync(context, config, time, id));
        v1.MapGet("/budget", (HttpContext context, ConfigMonitor config, Budgets.BudgetAdmission budgets, Purser.Budgets.IBudgetLedger ledger, TimeProvider time) => BudgetEndpoint.HandleAsync(context, config, budgets, ledger, time));
        ReservationsEndpoint.Map(v1);
        routes.MapGet("/health", () => Results.Text("ok"));
        return routes;
    }

    private static string ResponseId(HttpContext context) => context.GetRouteValue("id") as string ?? "";
}
