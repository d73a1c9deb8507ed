using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Validation;
using Purser.Gateway.Wire;
using Purser.Providers.Translation;

namespace Purser.Gateway.Proxy;

/// <summary>
/// The chat path's request steps that work on a parsed body: step 3 (the fields the gateway relies on, for a request
/// the scan did not admit) and step 7 (the upstream body, translated when the caller and the provider speak
/// different formats). <see cref="ChatRequestScan"/> and <see cref="PassThroughBody"/> are the same steps for a plain request.
/// </summary>
internal static class ChatRequestChecks
{
    /// <summary>Checks the fields the gateway itself relies on; the provider validates the rest.</summary>
    public static GatewayError? ValidateShape(JsonObject request, ApiFormat format, out string alias, out bool stream, out int? maxTokens)
    {
        alias = "";
        stream = false;
        maxTokens = null;
        if (!request.TryGetPropertyValue("model", out var modelNode) || modelNode is not JsonValue modelValue
            || !modelValue.TryGetValue<string>(out var modelName) || modelName.Length == 0)
        {
            return new GatewayError(GatewayErrorCode.InvalidRequest, "'model' is required and must be a non-empty string.", "model");
        }

        alias = modelName;
        if (!request.TryGetPropertyValue("messages", out var messages) || messages is not JsonArray)
        {
            return new GatewayError(GatewayErrorCode.InvalidRequest, "'messages' is required and must be an array.", "messages");
        }

        if (request.TryGetPropertyValue("stream", out var streamNode) && streamNode is not null)
        {
            if (streamNode.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, "'stream' must be a boolean.", "stream");
            }

            stream = streamNode.GetValue<bool>();
        }

        foreach (var field in format == ApiFormat.OpenAI ? OpenAiMaxTokenFields : AnthropicMaxTokenFields)
        {
            if (!request.TryGetPropertyValue(field, out var node) || node is null)
            {
                continue;
            }

            if (node is not JsonValue value || !value.TryGetValue<int>(out var parsed) || parsed < 1)
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, $"'{field}' must be a positive integer.", field);
            }

            if (maxTokens is { } earlier && earlier != parsed)
            {
                // Which one the upstream applies differs by provider and API version: never hold one and send the other.
                return new GatewayError(GatewayErrorCode.InvalidRequest, $"'max_tokens' and '{field}' disagree ({earlier} and {parsed}); send one of them.", field);
            }

            maxTokens = parsed;
        }

        return null;
    }

    private static readonly string[] OpenAiMaxTokenFields = ["max_tokens", "max_completion_tokens"];
    private static readonly string[] AnthropicMaxTokenFields = ["max_tokens"];

    /// <summary>The parsed body of a request the scan admitted, for the paths that work on JSON objects (translation, ensembles).</summary>
    public static JsonObject Materialize(PooledBufferWriter raw) => RequestBody.Parse(raw.WrittenSpan).Json!;

    public static bool WantsStreamUsage(JsonObject request) =>
        request["stream_options"] is JsonObject options
        && options["include_usage"] is JsonValue include
        && include.TryGetValue<bool>(out var wants) && wants;

    public static GatewayError? BuildUpstreamBody(JsonObject request, ApiFormat callerFormat, ApiFormat upstreamFormat, ResolvedModel model, int maxTokens, bool setMaxTokens, bool stream, out JsonObject upstream)
    {
        var upstreamModel = model.Model.UpstreamModel;
        if (callerFormat == upstreamFormat)
        {
            upstream = request;
            upstream["model"] = upstreamModel;
            if (setMaxTokens && (upstreamFormat == ApiFormat.Anthropic || !upstream.ContainsKey(TokenLimitFields.MaxCompletionTokens)))
            {
                upstream["max_tokens"] = maxTokens;
            }

            if (stream && upstreamFormat == ApiFormat.OpenAI)
            {
                // The final chunk then carries usage, so a stream is settled from what the provider reports.
                var options = upstream["stream_options"] as JsonObject ?? [];
                options["include_usage"] = true;
                upstream["stream_options"] = options;
            }

            return null;
        }

        if (callerFormat == ApiFormat.OpenAI)
        {
            if (!OpenAiToAnthropic.TryTranslateRequest(request, upstreamModel, maxTokens, out upstream, out var error))
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, error.Message, error.Param);
            }

            return null;
        }

        if (!AnthropicToOpenAi.TryTranslateRequest(request, upstreamModel, out upstream, out var reverseError))
        {
            return new GatewayError(GatewayErrorCode.InvalidRequest, reverseError.Message, reverseError.Param);
        }

        return null;
    }
}
