using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.Anthropic;

/// <summary>
/// <c>POST /v1/messages/count_tokens</c>: a Messages body without <c>max_tokens</c>, answered
/// <c>{"input_tokens": N}</c> with N exactly the <c>input_tokens</c> the same request would report from
/// <c>/v1/messages</c> (system, messages, tools, images and documents, by <see cref="TokenCounter"/>). Free, as at
/// Anthropic; an injected <c>fail=&lt;status&gt;</c> answers that status.
/// </summary>
internal sealed class CountTokensHandler
{
    private readonly SimContext sim;

    public CountTokensHandler(SimContext sim)
    {
        this.sim = sim;
    }

    public async Task HandleAsync(HttpContext context)
    {
        using JsonDocument? document = await AnthropicOpening.OpenAsync(context, sim).ConfigureAwait(false);
        if (document is null)
        {
            return;
        }

        if (!MessagesRequest.TryRead(document.RootElement, out MessagesRequest request, out string error, countOnly: true))
        {
            await AnthropicErrors.InvalidRequestAsync(context, error).ConfigureAwait(false);
            return;
        }

        if (!SimOptionsParser.TryParse(request.Model, context.Request.Headers, out SimOptions options, out error))
        {
            await AnthropicErrors.InvalidRequestAsync(context, "model: " + error).ConfigureAwait(false);
            return;
        }

        if (options.Fail == FailMode.Status)
        {
            await AnthropicErrors.SimulatedFailureAsync(context, options.FailStatus).ConfigureAwait(false);
            return;
        }

        using var body = new PooledBufferWriter(64);
        Utf8JsonWriter w = JsonWriterCache.Rent(body);
        w.WriteStartObject();
        w.WriteNumber("input_tokens"u8, request.InputTokens);
        w.WriteEndObject();
        JsonWriterCache.Return(w);
        await ResponseWriter.SendAsync(context, StatusCodes.Status200OK, body).ConfigureAwait(false);
    }
}
