using System.Text.Json;
using Purser.Providers.Usage;
using Purser.Usage;

namespace Purser.Providers.Streaming;

/// <summary>
/// Watches an OpenAI Responses API stream, event by event, without changing it: learns the response id (from
/// <c>response.created</c>), the usage of the terminal event (<c>response.completed</c>, <c>response.incomplete</c>
/// or <c>response.failed</c>, whose <c>response.usage</c> carries input, cached input, output and reasoning tokens),
/// and counts generated deltas so that a stream cut before its terminal event can still be settled.
/// </summary>
public sealed class ResponsesStreamObserver
{
    /// <summary>The id of the response, from the first event that carried the response object.</summary>
    public string? ResponseId { get; private set; }

    /// <summary>The status of the last response object seen (in_progress, queued, completed, incomplete, failed).</summary>
    public string? Status { get; private set; }

    /// <summary>The usage of the terminal event, when it carried one.</summary>
    public TokenUsage? ReportedUsage { get; private set; }

    /// <summary>A terminal event (completed, incomplete, failed) or an error event was seen.</summary>
    public bool Ended { get; private set; }

    /// <summary>An <c>error</c> event was seen.</summary>
    public bool SawError { get; private set; }

    /// <summary>Delta events that carried generated text or arguments.</summary>
    public long ContentChunks { get; private set; }

    /// <summary>UTF-8 bytes (as escaped in JSON) of every generated delta.</summary>
    public long ContentBytes { get; private set; }

    /// <summary>max(ContentChunks, ceil(ContentBytes / 4)), the chat streams' estimate.</summary>
    public long CountedOutputTokens => OutputTokenEstimate.Count(ContentChunks, ContentBytes);

    /// <summary>The type of the last observed event.</summary>
    public string? LastType { get; private set; }

    /// <summary>Observes the data of one event; false when it is not a JSON object.</summary>
    public bool Observe(ReadOnlySpan<byte> data)
    {
        try
        {
            return ObserveCore(data);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads a whole response object (a non-streamed answer, or a retrieval): its id, status and usage; false when it
    /// is not a JSON object.
    /// </summary>
    public bool ObserveResponseObject(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            ReportedUsage = ReadResponse(ref reader);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private bool ObserveCore(ReadOnlySpan<byte> data)
    {
        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        string? type = null;
        long deltaBytes = -1;
        TokenUsage? usage = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    deltaBytes = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("response"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    usage = ReadResponse(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        LastType = type;
        switch (type)
        {
            case "response.completed" or "response.incomplete" or "response.failed":
                Ended = true;
                ReportedUsage = usage ?? ReportedUsage;
                break;
            case "error":
                Ended = true;
                SawError = true;
                break;
            default:
                if (deltaBytes >= 0 && type is not null && type.EndsWith(".delta", StringComparison.Ordinal))
                {
                    ContentChunks++;
                    ContentBytes += deltaBytes;
                }

                break;
        }

        return type is not null;
    }

    // Reads a response object's id, status, service tier and usage; the reader ends on its EndObject.
    private TokenUsage? ReadResponse(ref Utf8JsonReader reader)
    {
        TokenUsage? usage = null;
        ServiceTier? tier = null;
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    ResponseId ??= reader.GetString();
                }
            }
            else if (reader.ValueTextEquals("status"u8))
            {
                reader.Read();
                Status = reader.TokenType == JsonTokenType.String ? reader.GetString() : Status;
            }
            else if (reader.ValueTextEquals("service_tier"u8))
            {
                reader.Read();
                tier = reader.TokenType == JsonTokenType.String ? ServiceTiers.Parse(reader.GetString()) : null;
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject && UsageJson.ReadOpenAi(ref reader, out var read))
                {
                    usage = read;
                }
                else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return usage is { } found ? found with { Tier = tier ?? ServiceTier.Default } : null;
    }
}
