using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary>
/// <c>POST /v1/embeddings</c>. Vectors are a unit-length function of the input's hash, so the same text always
/// embeds the same way; base64 is the little-endian float32 bytes of exactly the float vector.
/// </summary>
internal sealed class EmbeddingsHandler
{
    private const int DefaultDimensions = 16;
    private const int MaxDimensions = 8192;

    private readonly SimContext sim;

    public EmbeddingsHandler(SimContext sim)
    {
        this.sim = sim;
    }

    public async Task HandleAsync(HttpContext context)
    {
        using JsonDocument? document = await OpenAiOpening.OpenAsync(context, sim).ConfigureAwait(false);
        if (document is null)
        {
            return;
        }

        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            await OpenAiErrors.InvalidRequestAsync(context, "The request body must be a JSON object.").ConfigureAwait(false);
            return;
        }

        string model;
        string error;
        if (AzureRoute.Deployment(context) is { } deployment)
        {
            // Azure names the model by the deployment in the URL.
            model = deployment;
        }
        else if (!RequestFields.TryGetRequiredString(root, "model", out model, out error))
        {
            await OpenAiErrors.InvalidRequestAsync(context, error, "model").ConfigureAwait(false);
            return;
        }

        if (!RequestFields.TryGetOptionalInt(root, "dimensions", 1, MaxDimensions, out int? dimensions, out error))
        {
            await OpenAiErrors.InvalidRequestAsync(context, error, "dimensions").ConfigureAwait(false);
            return;
        }

        bool base64 = false;
        if (root.TryGetProperty("encoding_format", out JsonElement format) && format.ValueKind != JsonValueKind.Null)
        {
            base64 = format.ValueEquals("base64");
            if (!base64 && !format.ValueEquals("float"))
            {
                await OpenAiErrors.InvalidRequestAsync(context, "Invalid 'encoding_format': expected 'float' or 'base64'.", "encoding_format").ConfigureAwait(false);
                return;
            }
        }

        if (!TryReadInputs(root, out JsonElement input, out bool single, out error))
        {
            await OpenAiErrors.InvalidRequestAsync(context, error, "input").ConfigureAwait(false);
            return;
        }

        if (!SimOptionsParser.TryParse(model, context.Request.Headers, out SimOptions options, out error))
        {
            await OpenAiErrors.InvalidRequestAsync(context, error, "model").ConfigureAwait(false);
            return;
        }

        await sim.DelayAsync(options.LatencyMs, context.RequestAborted).ConfigureAwait(false);
        if (options.Fail == FailMode.Status)
        {
            await OpenAiErrors.SimulatedFailureAsync(context, options.FailStatus).ConfigureAwait(false);
            return;
        }

        if (options.Fail == FailMode.Timeout)
        {
            await sim.HangAsync(context.RequestAborted).ConfigureAwait(false);
            context.Abort();
            return;
        }

        int dims = dimensions ?? DefaultDimensions;
        float[] vector = ArrayPool<float>.Shared.Rent(dims);
        byte[] bytes = ArrayPool<byte>.Shared.Rent(dims * sizeof(float));
        using var body = new PooledBufferWriter(512 + (dims * 16));
        try
        {
            Utf8JsonWriter w = JsonWriterCache.Rent(body);
            w.WriteStartObject();
            w.WriteString("object"u8, "list"u8);
            w.WriteStartArray("data"u8);
            long tokens = 0;
            if (single)
            {
                tokens += WriteEmbedding(w, 0, input, vector.AsSpan(0, dims), base64 ? bytes.AsSpan(0, dims * sizeof(float)) : default);
            }
            else
            {
                int index = 0;
                foreach (JsonElement item in input.EnumerateArray())
                {
                    tokens += WriteEmbedding(w, index++, item, vector.AsSpan(0, dims), base64 ? bytes.AsSpan(0, dims * sizeof(float)) : default);
                }
            }

            w.WriteEndArray();
            w.WriteString("model"u8, model);
            w.WriteStartObject("usage"u8);
            w.WriteNumber("prompt_tokens"u8, tokens);
            w.WriteNumber("total_tokens"u8, tokens);
            w.WriteEndObject();
            w.WriteEndObject();
            JsonWriterCache.Return(w);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(vector);
            ArrayPool<byte>.Shared.Return(bytes);
        }

        await ResponseWriter.SendAsync(context, StatusCodes.Status200OK, body).ConfigureAwait(false);
    }

    /// <summary>Accepts a string, a token array, an array of strings or an array of token arrays.</summary>
    private static bool TryReadInputs(JsonElement root, out JsonElement input, out bool single, out string error)
    {
        error = string.Empty;
        single = false;
        if (!root.TryGetProperty("input", out input))
        {
            error = "Missing required parameter: 'input'.";
            return false;
        }

        if (input.ValueKind == JsonValueKind.String)
        {
            single = true;
            return true;
        }

        if (input.ValueKind != JsonValueKind.Array || input.GetArrayLength() == 0)
        {
            error = "Invalid 'input': expected a string, an array of strings, or an array of token arrays.";
            return false;
        }

        if (input[0].ValueKind == JsonValueKind.Number)
        {
            single = true;
            return IsTokenArray(input, ref error);
        }

        foreach (JsonElement item in input.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array ? !IsTokenArray(item, ref error) : item.ValueKind != JsonValueKind.String)
            {
                error = error.Length > 0 ? error : "Invalid 'input': every item must be a string or an array of integers.";
                return false;
            }
        }

        return true;
    }

    private static bool IsTokenArray(JsonElement array, ref string error)
    {
        foreach (JsonElement token in array.EnumerateArray())
        {
            if (token.ValueKind != JsonValueKind.Number || !token.TryGetInt64(out _))
            {
                error = "Invalid 'input': token arrays must contain only integers.";
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes one embedding object and returns its input token count.</summary>
    private static int WriteEmbedding(Utf8JsonWriter w, int index, JsonElement item, Span<float> vector, Span<byte> base64Bytes)
    {
        ulong hash;
        int tokens;
        if (item.ValueKind == JsonValueKind.String)
        {
            hash = JsonText.Hash(item);
            tokens = TokenCounter.FromBytes(JsonText.Utf8Length(item));
        }
        else
        {
            hash = Fnv.Offset;
            tokens = 0;
            foreach (JsonElement token in item.EnumerateArray())
            {
                hash = Fnv.Append(hash, token.GetInt64());
                tokens++;
            }
        }

        Fill(vector, hash);
        w.WriteStartObject();
        w.WriteString("object"u8, "embedding"u8);
        w.WriteNumber("index"u8, index);
        if (base64Bytes.IsEmpty)
        {
            w.WriteStartArray("embedding"u8);
            foreach (float value in vector)
            {
                w.WriteNumberValue(value);
            }

            w.WriteEndArray();
        }
        else
        {
            for (int i = 0; i < vector.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(base64Bytes[(i * sizeof(float))..], vector[i]);
            }

            w.WriteBase64String("embedding"u8, base64Bytes);
        }

        w.WriteEndObject();
        return tokens;
    }

    /// <summary>SplitMix64 from the hash, mapped to [-1, 1) and scaled to unit length.</summary>
    private static void Fill(Span<float> vector, ulong seed)
    {
        double sumSquares = 0;
        ulong state = seed;
        for (int i = 0; i < vector.Length; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            ulong z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            double value = ((z >> 11) * (1.0 / (1UL << 53)) * 2.0) - 1.0;
            vector[i] = (float)value;
            sumSquares += value * value;
        }

        double norm = Math.Sqrt(sumSquares);
        if (norm == 0)
        {
            vector[0] = 1;
            return;
        }

        for (int i = 0; i < vector.Length; i++)
        {
            vector[i] = (float)(vector[i] / norm);
        }
    }
}
