using Microsoft.AspNetCore.Http;
using Purser.SimulatedProvider.Anthropic;
using Purser.SimulatedProvider.Common;
using Purser.SimulatedProvider.OpenAi;

namespace Purser.SimulatedProvider;

/// <summary>
/// A single terminal middleware with a switch on the path: a handful of fixed routes does not need endpoint
/// routing, and skipping it keeps the per-request cost to a few string comparisons.
/// </summary>
internal sealed class SimRouter
{
    private readonly ChatCompletionsHandler chat;
    private readonly MessagesHandler messages;
    private readonly EmbeddingsHandler embeddings;
    private readonly ModelsHandler models;
    private readonly CountTokensHandler countTokens;
    private readonly ResponsesHandler responses;
    private readonly StoredResponsesHandler storedResponses;

    public SimRouter(SimContext sim)
    {
        chat = new ChatCompletionsHandler(sim);
        messages = new MessagesHandler(sim);
        embeddings = new EmbeddingsHandler(sim);
        models = new ModelsHandler(sim);
        countTokens = new CountTokensHandler(sim);
        var store = new ResponseStore();
        responses = new ResponsesHandler(sim, store);
        storedResponses = new StoredResponsesHandler(sim, store);
    }

    public async Task HandleAsync(HttpContext context)
    {
        try
        {
            await DispatchAsync(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away mid-delay or mid-stream: nothing left to answer.
        }
    }

    private Task DispatchAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        string path = request.Path.Value ?? string.Empty;
        bool post = HttpMethods.IsPost(request.Method);
        bool get = HttpMethods.IsGet(request.Method);
        switch (path)
        {
            case "/v1/chat/completions" when post:
            case "/v1beta/openai/chat/completions" when post: // Gemini's OpenAI-compatible endpoint
                return chat.HandleAsync(context);
            case "/v1/messages" when post:
                return messages.HandleAsync(context);
            case "/v1/messages/count_tokens" when post:
                return countTokens.HandleAsync(context);
            case "/v1/embeddings" when post:
                return embeddings.HandleAsync(context);
            case "/v1/responses" when post:
                return responses.HandleAsync(context);
            case "/v1/models" when get:
                return models.HandleAsync(context);
            case "/health" when get:
                context.Response.ContentType = "text/plain";
                return context.Response.WriteAsync("ok", context.RequestAborted);
            case var stored when stored.StartsWith("/v1/responses/", StringComparison.Ordinal) && storedResponses.TryHandle(context, stored["/v1/responses/".Length..], out Task handled):
                return handled;
            case "/v1/chat/completions" or "/v1/messages" or "/v1/messages/count_tokens" or "/v1/embeddings" or "/v1/models" or "/v1/responses" or "/health":
                return OpenAiErrors.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, $"Method {request.Method} not allowed for {path}.", "invalid_request_error");
            default:
                if (post && AzureRoute.TryMatch(path, out var deployment, out var operation))
                {
                    return AzureAsync(context, deployment, operation);
                }

                return OpenAiErrors.WriteAsync(context, StatusCodes.Status404NotFound, $"Unknown request URL: {request.Method} {path}.", "invalid_request_error", code: "unknown_url");
        }
    }

    private async Task AzureAsync(HttpContext context, string deployment, string operation)
    {
        if (!await AzureRoute.TryAcceptAsync(context, deployment).ConfigureAwait(false))
        {
            return;
        }

        await (operation == "embeddings" ? embeddings.HandleAsync(context) : chat.HandleAsync(context)).ConfigureAwait(false);
    }
}
