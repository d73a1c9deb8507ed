using System.Text.Json;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary>
/// The fields of a Responses API request (<c>POST /v1/responses</c>) the simulator acts on, validated as OpenAI does:
/// <c>input</c> (a string or an array of items: messages with input_text / input_image / input_file / output_text
/// parts, <c>function_call</c> and <c>function_call_output</c> items), <c>instructions</c>, function <c>tools</c>
/// (built-in tools are accepted and never run), <c>tool_choice</c>, <c>max_output_tokens</c> (at least 16),
/// <c>stream</c>, <c>store</c>, <c>background</c>, <c>previous_response_id</c> and <c>text.format</c>.
/// </summary>
internal sealed class ResponsesRequest
{
    private const int MinOutputTokens = 16;

    private readonly RequestTools tools = new(ToolShape.ResponsesFunction);

    private ResponsesRequest(string model)
    {
        Model = model;
    }

    public string Model { get; }

    public bool Stream { get; private set; }

    public bool Store { get; private set; } = true;

    public bool Background { get; private set; }

    public int? MaxOutputTokens { get; private set; }

    public bool JsonMode { get; private set; }

    public string? Instructions { get; private set; }

    public string? PreviousResponseId { get; private set; }

    /// <summary>Input tokens of this request's own items (without a previous response's conversation).</summary>
    public int InputTokens { get; private set; }

    public bool LastIsToolResult { get; private set; }

    public string ServiceTier { get; private set; } = "default";

    /// <summary>The request's <c>input</c>, as sent (a string or an array), cloned so it outlives the request body.</summary>
    public JsonElement Input { get; private set; }

    public JsonElement Tools => tools.List;

    public static bool TryRead(JsonElement root, out ResponsesRequest request, out string error, out string? param)
    {
        request = null!;
        param = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "The request body must be a JSON object.";
            return false;
        }

        if (!RequestFields.TryGetRequiredString(root, "model", out string model, out error))
        {
            param = "model";
            return false;
        }

        var r = new ResponsesRequest(model);
        param = "input";
        if (!r.TryReadInput(root, out error))
        {
            return false;
        }

        param = "instructions";
        if (root.TryGetProperty("instructions", out JsonElement instructions) && instructions.ValueKind != JsonValueKind.Null)
        {
            if (instructions.ValueKind != JsonValueKind.String)
            {
                error = "Invalid type for 'instructions': expected a string.";
                return false;
            }

            r.Instructions = instructions.GetString();
            r.InputTokens += TokenCounter.PerSystem + TokenCounter.FromBytes(JsonText.Utf8Length(instructions));
        }

        if (!RequestFields.TryGetOptionalBool(root, "stream", out bool stream, out error))
        {
            param = "stream";
            return false;
        }

        r.Stream = stream;
        if (!RequestFields.TryGetOptionalBool(root, "background", out bool background, out error))
        {
            param = "background";
            return false;
        }

        r.Background = background;
        if (root.TryGetProperty("store", out JsonElement store) && store.ValueKind == JsonValueKind.False)
        {
            r.Store = false;
        }
        else if (store.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.True or JsonValueKind.Null))
        {
            param = "store";
            error = "Invalid type for 'store': expected a boolean.";
            return false;
        }

        if (r.Background && !r.Store)
        {
            param = "background";
            error = "Background responses require 'store' to be true.";
            return false;
        }

        param = "max_output_tokens";
        if (!RequestFields.TryGetOptionalInt(root, "max_output_tokens", MinOutputTokens, int.MaxValue, out int? maxOutput, out error))
        {
            error = $"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= {MinOutputTokens}, or an integer.";
            return false;
        }

        r.MaxOutputTokens = maxOutput;
        param = "previous_response_id";
        if (root.TryGetProperty("previous_response_id", out JsonElement previous) && previous.ValueKind != JsonValueKind.Null)
        {
            if (previous.ValueKind != JsonValueKind.String)
            {
                error = "Invalid type for 'previous_response_id': expected a string.";
                return false;
            }

            r.PreviousResponseId = previous.GetString();
        }

        r.ServiceTier = RequestFields.ServiceTier(root);

        param = "text";
        if (root.TryGetProperty("text", out JsonElement text) && text.ValueKind == JsonValueKind.Object
            && text.TryGetProperty("format", out JsonElement format) && format.ValueKind == JsonValueKind.Object
            && format.TryGetProperty("type", out JsonElement formatType))
        {
            r.JsonMode = formatType.ValueEquals("json_object") || formatType.ValueEquals("json_schema");
        }

        if (!r.TryReadTools(root, out error, out param))
        {
            return false;
        }

        r.InputTokens += TokenCounter.PerRequest + r.tools.ListTokens;
        param = null;
        request = r;
        return true;
    }

    /// <summary>The function to call, when the answer must be a function call rather than text.</summary>
    public bool TryChooseTool(out string name, out JsonElement parameters) => tools.TryChoose(LastIsToolResult, out name, out parameters);

    private bool TryReadInput(JsonElement root, out string error)
    {
        error = string.Empty;
        if (!root.TryGetProperty("input", out JsonElement input) || input.ValueKind == JsonValueKind.Null)
        {
            // A request may continue a stored conversation, or run on instructions alone.
            Input = JsonDocument.Parse("[]").RootElement.Clone();
            return true;
        }

        if (input.ValueKind == JsonValueKind.String)
        {
            Input = input.Clone();
            InputTokens += TokenCounter.PerMessage + TokenCounter.FromBytes(JsonText.Utf8Length(input));
            return true;
        }

        if (input.ValueKind != JsonValueKind.Array)
        {
            error = "Invalid type for 'input': expected a string or an array of input items.";
            return false;
        }

        int index = 0;
        foreach (JsonElement item in input.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                error = $"Invalid type for 'input[{index}]': expected an object.";
                return false;
            }

            string type = item.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "message";
            long bytes = 0;
            switch (type)
            {
                case "message":
                    if (!item.TryGetProperty("role", out JsonElement role) || role.ValueKind != JsonValueKind.String
                        || !(role.ValueEquals("user") || role.ValueEquals("assistant") || role.ValueEquals("system") || role.ValueEquals("developer")))
                    {
                        error = $"Invalid value for 'input[{index}].role': expected one of 'user', 'assistant', 'system' or 'developer'.";
                        return false;
                    }

                    if (!item.TryGetProperty("content", out JsonElement content) || content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
                    {
                        error = $"Invalid 'input[{index}].content': expected a string or an array of content parts.";
                        return false;
                    }

                    bytes += RequestFields.TextBytes(content);
                    if (content.ValueKind == JsonValueKind.Array && !TryReadParts(content, index, out error))
                    {
                        return false;
                    }

                    break;
                case "function_call":
                    if (!HasString(item, "call_id") || !HasString(item, "name") || !HasString(item, "arguments"))
                    {
                        error = $"Invalid 'input[{index}]': a function_call item needs string 'call_id', 'name' and 'arguments'.";
                        return false;
                    }

                    bytes += JsonText.Utf8Length(item.GetProperty("name")) + JsonText.Utf8Length(item.GetProperty("arguments"));
                    break;
                case "function_call_output":
                    if (!HasString(item, "call_id") || !item.TryGetProperty("output", out JsonElement output))
                    {
                        error = $"Invalid 'input[{index}]': a function_call_output item needs a string 'call_id' and an 'output'.";
                        return false;
                    }

                    bytes += output.ValueKind == JsonValueKind.String ? JsonText.Utf8Length(output) : RequestFields.TextBytes(output);
                    break;
                case "reasoning" or "item_reference":
                    break;
                default:
                    error = $"Invalid value for 'input[{index}].type': '{type}' is not an input item type the simulator supports.";
                    return false;
            }

            InputTokens += TokenCounter.PerMessage + TokenCounter.FromBytes(bytes);
            LastIsToolResult = type == "function_call_output";
            index++;
        }

        Input = input.Clone();
        return true;
    }

    private bool TryReadParts(JsonElement content, int index, out string error)
    {
        error = string.Empty;
        int part = 0;
        foreach (JsonElement p in content.EnumerateArray())
        {
            if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String)
            {
                error = $"Invalid 'input[{index}].content[{part}]': expected an object with a string 'type'.";
                return false;
            }

            if (type.ValueEquals("input_image"))
            {
                if (p.TryGetProperty("image_url", out JsonElement url) && url.ValueKind == JsonValueKind.String)
                {
                    InputTokens += ImageBilling.OpenAi(Model, url);
                }
                else if (!HasString(p, "file_id"))
                {
                    error = $"Invalid 'input[{index}].content[{part}]': an input_image needs an 'image_url' or a 'file_id'.";
                    return false;
                }
            }
            else if (type.ValueEquals("input_file"))
            {
                string? data = p.TryGetProperty("file_data", out JsonElement fd) && fd.ValueKind == JsonValueKind.String ? fd.GetString() : null;
                InputTokens = (int)Math.Min(int.MaxValue, InputTokens + DocumentBilling.Pdf(data));
            }
            else if (!(type.ValueEquals("input_text") || type.ValueEquals("output_text") || type.ValueEquals("refusal")))
            {
                error = $"Invalid value for 'input[{index}].content[{part}].type': expected 'input_text', 'input_image', 'input_file' or 'output_text'.";
                return false;
            }

            part++;
        }

        return true;
    }

    private static string? CheckTool(JsonElement tool, int index)
    {
        if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String)
        {
            return $"Invalid 'tools[{index}]': expected an object with a string 'type'.";
        }

        return type.ValueEquals("function") && !HasString(tool, "name") ? $"Missing required parameter: 'tools[{index}].name'." : null;
    }

    private bool TryReadTools(JsonElement root, out string error, out string? param)
    {
        param = "tools";
        if (!tools.TryRead(root, "Invalid type for 'tools': expected an array.", CheckTool, out JsonElement choice, out error))
        {
            return false;
        }

        param = "tool_choice";
        if (choice.ValueKind == JsonValueKind.Undefined
            || (choice.ValueKind == JsonValueKind.String && (choice.ValueEquals("auto") || choice.ValueEquals("required"))))
        {
            return true;
        }

        if (choice.ValueKind == JsonValueKind.String && choice.ValueEquals("none"))
        {
            tools.ChooseNone();
            return true;
        }

        if (choice.ValueKind == JsonValueKind.Object && HasString(choice, "name"))
        {
            if (!tools.TryChooseNamed(choice.GetProperty("name").GetString(), LastIsToolResult))
            {
                error = $"Tool choice '{tools.ChosenName}' not found in 'tools' parameter.";
                return false;
            }

            return true;
        }

        error = "Invalid 'tool_choice': expected \"none\", \"auto\", \"required\" or {\"type\":\"function\",\"name\":...}.";
        return false;
    }

    private static bool HasString(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String;
}
