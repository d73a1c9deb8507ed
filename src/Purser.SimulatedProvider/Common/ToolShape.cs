namespace Purser.SimulatedProvider.Common;

/// <summary>Where a request format keeps a tool's name and schema.</summary>
internal enum ToolShape
{
    /// <summary>Chat Completions: <c>{"type":"function","function":{"name","parameters"}}</c>.</summary>
    ChatFunction,

    /// <summary>Responses: <c>{"type":"function","name","parameters"}</c>; built-in tools are skipped.</summary>
    ResponsesFunction,

    /// <summary>Anthropic Messages: <c>{"name","input_schema"}</c>.</summary>
    AnthropicTool,
}
