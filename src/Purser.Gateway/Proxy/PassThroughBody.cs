using System.Text.Json;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Proxy;

/// <summary>
/// Writes the upstream body of a same-format chat request from the caller's bytes and its <see cref="ChatRequestScan"/>:
/// every field copied as sent except the ones the gateway rewrites, with the result (fields and their order) the
/// <see cref="System.Text.Json.Nodes.JsonObject"/> path gives (<see cref="TokenLimitFields"/>): <c>model</c> replaced in
/// place; the limit set in the caller's own limit field (<c>max_tokens</c> or <c>max_completion_tokens</c>) or appended
/// as <c>max_tokens</c>; <c>stream_options.include_usage</c> appended for an OpenAI stream; and <c>max_tokens</c> moved
/// to the end as <c>max_completion_tokens</c> for a provider that wants that name.
/// </summary>
internal static class PassThroughBody
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    public static void Write(ReadOnlySpan<byte> body, ChatRequestScan scan, PooledBufferWriter output, string upstreamModel, int? setMaxTokens, bool addStreamUsage, bool usesMaxCompletionTokens)
    {
        // The scan admits at most one of the two limit fields.
        var limitField = scan.MaxTokensField >= 0 ? scan.MaxTokensField : scan.MaxCompletionTokensField;
        var rename = usesMaxCompletionTokens && (scan.MaxTokensField >= 0 || (scan.MaxCompletionTokensField < 0 && setMaxTokens is not null));
        using var json = new Utf8JsonWriter(output, WriterOptions);
        json.WriteStartObject();
        var fields = scan.Fields;
        for (var i = 0; i < fields.Length; i++)
        {
            var field = fields[i];
            var value = body.Slice(field.ValueStart, field.ValueLength);
            if (i == scan.MaxTokensField && rename)
            {
                continue;
            }

            json.WritePropertyName(body.Slice(field.NameStart, field.NameLength));
            if (i == scan.ModelField)
            {
                json.WriteStringValue(upstreamModel);
            }
            else if (i == limitField && setMaxTokens is { } replaced)
            {
                json.WriteNumberValue(replaced);
            }
            else
            {
                json.WriteRawValue(value, skipInputValidation: true);
            }
        }

        if (setMaxTokens is { } appended && limitField < 0 && !rename)
        {
            json.WriteNumber("max_tokens"u8, appended);
        }

        if (addStreamUsage)
        {
            json.WriteStartObject("stream_options"u8);
            json.WriteBoolean("include_usage"u8, true);
            json.WriteEndObject();
        }

        if (rename)
        {
            json.WritePropertyName("max_completion_tokens"u8);
            if (setMaxTokens is { } limit)
            {
                json.WriteNumberValue(limit);
            }
            else
            {
                var field = fields[scan.MaxTokensField];
                json.WriteRawValue(body.Slice(field.ValueStart, field.ValueLength), skipInputValidation: true);
            }
        }

        json.WriteEndObject();
    }
}
