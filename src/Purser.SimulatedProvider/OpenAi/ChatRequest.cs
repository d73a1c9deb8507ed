using System.Text.Json;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary>The fields of a chat completion request the simulator acts on, validated in one pass over the JSON.</summary>
internal sealed class ChatRequest
{
    private readonly RequestTools tools = new(ToolShape.ChatFunction);

    private ChatRequest(string model)
    {
        Model = model;
    }

    public string Model { get; }

    public bool Stream { get; private set; }

    public int N { get; private set; } = 1;

    public int? MaxTokens { get; private set; }

    public string[]? Stops { get; private set; }

    public bool JsonMode { get; private set; }

    public bool IncludeUsage { get; private set; }

    public int InputTokens { get; private set; }

    public bool LastIsToolResult { get; private set; }

    /// <summary>The tier the call is served at: the requested priority or flex, else default.</summary>
    public string ServiceTier { get; private set; } = "default";

    /// <summary>
    /// Reads a chat request; <paramref name="deployment"/> is the Azure deployment of the URL, which names the model
    /// there (a <c>model</c> in the body is then ignored, as Azure does).
    /// </summary>
    public static bool TryRead(JsonElement root, out ChatRequest request, out string error, out string? param, string? deployment = null)
    {
        request = null!;
        param = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "The request body must be a JSON object.";
            return false;
        }

        string model;
        if (deployment is not null)
        {
            model = deployment;
        }
        else if (!RequestFields.TryGetRequiredString(root, "model", out model, out error))
        {
            param = "model";
            return false;
        }

        var r = new ChatRequest(model);
        if (!r.TryReadMessages(root, out error))
        {
            param = "messages";
            return false;
        }

        param = "stream";
        if (!RequestFields.TryGetOptionalBool(root, "stream", out bool stream, out error))
        {
            return false;
        }

        r.Stream = stream;
        param = "n";
        if (!RequestFields.TryGetOptionalInt(root, "n", 1, 128, out int? n, out error))
        {
            return false;
        }

        r.N = n ?? 1;
        param = "max_tokens";
        if (!RequestFields.TryGetOptionalInt(root, "max_tokens", 1, int.MaxValue, out int? maxTokens, out error))
        {
            return false;
        }

        param = "max_completion_tokens";
        if (!RequestFields.TryGetOptionalInt(root, "max_completion_tokens", 1, int.MaxValue, out int? maxCompletion, out error))
        {
            return false;
        }

        r.MaxTokens = maxCompletion ?? maxTokens;
        param = "stop";
        if (!RequestFields.TryGetStops(root, "stop", allowSingleString: true, out string[]? stops, out error))
        {
            return false;
        }

        r.Stops = stops;
        r.ServiceTier = RequestFields.ServiceTier(root);

        if (!r.TryReadResponseFormat(root, out error, out param)
            || !r.TryReadStreamOptions(root, out error, out param)
            || !r.TryReadTools(root, out error, out param))
        {
            return false;
        }

        r.InputTokens += TokenCounter.PerRequest + r.tools.ListTokens;
        param = null;
        request = r;
        return true;
    }

    /// <summary>The tool to call, when the answer must be a tool call rather than text.</summary>
    public bool TryChooseTool(out string name, out JsonElement parameters) => tools.TryChoose(LastIsToolResult, out name, out parameters);

    private bool TryReadMessages(JsonElement root, out string error)
    {
        if (!root.TryGetProperty("messages", out JsonElement messages))
        {
            error = "Missing required parameter: 'messages'.";
            return false;
        }

        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            error = "Invalid 'messages': expected a non-empty array of message objects.";
            return false;
        }

        int index = 0;
        foreach (JsonElement message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object
                || !message.TryGetProperty("role", out JsonElement role)
                || role.ValueKind != JsonValueKind.String)
            {
                error = $"Invalid 'messages[{index}]': expected an object with a string 'role'.";
                return false;
            }

            long bytes = 0;
            if (message.TryGetProperty("content", out JsonElement content))
            {
                if (content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array or JsonValueKind.Null))
                {
                    error = $"Invalid type for 'messages[{index}].content': expected a string, an array of parts or null.";
                    return false;
                }

                bytes += RequestFields.TextBytes(content);
                if (content.ValueKind == JsonValueKind.Array)
                {
                    foreach (JsonElement part in content.EnumerateArray())
                    {
                        if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out JsonElement type) && type.ValueEquals("image_url")
                            && part.TryGetProperty("image_url", out JsonElement image))
                        {
                            InputTokens += ImageBilling.OpenAi(Model, image);
                        }
                        else if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out JsonElement fileType) && fileType.ValueEquals("file"))
                        {
                            // A file part: a PDF in file_data is billed by its pages; a file_id (not fetched) as a fixed page count.
                            string? data = part.TryGetProperty("file", out JsonElement file) && file.ValueKind == JsonValueKind.Object
                                && file.TryGetProperty("file_data", out JsonElement fd) && fd.ValueKind == JsonValueKind.String ? fd.GetString() : null;
                            InputTokens = (int)Math.Min(int.MaxValue, InputTokens + DocumentBilling.Pdf(data));
                        }
                    }
                }
            }

            if (message.TryGetProperty("tool_calls", out JsonElement calls) && calls.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement call in calls.EnumerateArray())
                {
                    if (call.ValueKind == JsonValueKind.Object && call.TryGetProperty("function", out JsonElement function) && function.ValueKind == JsonValueKind.Object)
                    {
                        bytes += StringBytes(function, "name") + StringBytes(function, "arguments");
                    }
                }
            }

            InputTokens += TokenCounter.PerMessage + TokenCounter.FromBytes(bytes);
            LastIsToolResult = role.ValueEquals("tool") || role.ValueEquals("function");
            index++;
        }

        error = string.Empty;
        return true;
    }

    private bool TryReadResponseFormat(JsonElement root, out string error, out string? param)
    {
        error = string.Empty;
        param = "response_format";
        if (!root.TryGetProperty("response_format", out JsonElement format) || format.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (format.ValueKind != JsonValueKind.Object || !format.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String)
        {
            error = "Invalid 'response_format': expected an object with a string 'type'.";
            return false;
        }

        JsonMode = type.ValueEquals("json_object") || type.ValueEquals("json_schema");
        return true;
    }

    private bool TryReadStreamOptions(JsonElement root, out string error, out string? param)
    {
        error = string.Empty;
        param = "stream_options";
        if (!root.TryGetProperty("stream_options", out JsonElement options) || options.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (options.ValueKind != JsonValueKind.Object)
        {
            error = "Invalid type for 'stream_options': expected an object.";
            return false;
        }

        if (!RequestFields.TryGetOptionalBool(options, "include_usage", out bool include, out error))
        {
            param = "stream_options.include_usage";
            return false;
        }

        IncludeUsage = include;
        return true;
    }

    private bool TryReadTools(JsonElement root, out string error, out string? param)
    {
        param = "tools";
        if (!tools.TryRead(root, "Invalid type for 'tools': expected an array.", CheckTool, out JsonElement choice, out error))
        {
            return false;
        }

        param = "tool_choice";
        if (choice.ValueKind == JsonValueKind.Undefined)
        {
            return true;
        }

        if (choice.ValueKind == JsonValueKind.String)
        {
            if (choice.ValueEquals("none"))
            {
                tools.ChooseNone();
                return true;
            }

            if (choice.ValueEquals("auto") || choice.ValueEquals("required"))
            {
                return true;
            }
        }
        else if (choice.ValueKind == JsonValueKind.Object
            && choice.TryGetProperty("function", out JsonElement chosen)
            && chosen.ValueKind == JsonValueKind.Object
            && chosen.TryGetProperty("name", out JsonElement chosenName)
            && chosenName.ValueKind == JsonValueKind.String)
        {
            if (!tools.TryChooseNamed(chosenName.GetString(), LastIsToolResult))
            {
                error = $"Invalid 'tool_choice': no tool named '{tools.ChosenName}' in 'tools'.";
                return false;
            }

            return true;
        }

        error = "Invalid 'tool_choice': expected \"none\", \"auto\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":...}}.";
        return false;
    }

    private static string? CheckTool(JsonElement tool, int index) =>
        tool.ValueKind != JsonValueKind.Object
            || !tool.TryGetProperty("function", out JsonElement function)
            || function.ValueKind != JsonValueKind.Object
            || !function.TryGetProperty("name", out JsonElement name)
            || name.ValueKind != JsonValueKind.String
            ? $"Invalid 'tools[{index}]': expected {{\"type\":\"function\",\"function\":{{\"name\":...}}}}."
            : null;

    private static long StringBytes(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? JsonText.Utf8Length(value) : 0;
}
