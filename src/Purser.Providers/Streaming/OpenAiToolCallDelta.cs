namespace Purser.Providers.Streaming;

/// <summary>One entry of a chunk's delta.tool_calls; id and name come only with a call's first fragment.</summary>
internal readonly record struct OpenAiToolCallDelta(int Index, JsonStringToken Id, JsonStringToken Name, JsonStringToken Arguments);
