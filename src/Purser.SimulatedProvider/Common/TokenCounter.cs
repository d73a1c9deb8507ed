using System.Text;

namespace Purser.SimulatedProvider.Common;

/// <summary>
/// The simulator's deterministic token counting, which the gateway relies on.
/// <list type="bullet">
/// <item><c>count(text) = ceil(utf8Bytes(text) / 4)</c>.</item>
/// <item>Input tokens = for each message: 4 + count(all text in it: string content, text parts,
/// tool-call names + arguments, tool_use input JSON, tool results, concatenated);
/// + count(system text) + 4 when a system prompt exists (Anthropic <c>system</c>, string or text blocks);
/// + count(raw JSON of <c>tools</c>) when present; + 3 per request.</item>
/// <item>Embeddings: the sum of count(each input string); token-array inputs count their length.</item>
/// <item>Output: N tokens, N = the <c>out</c> option (default 20) capped by max_tokens; each token is one
/// 4-letter word plus a space (the last has no space). JSON-mode answers and tool arguments count
/// ceil(bytes / 4) of the generated string.</item>
/// </list>
/// Images (<see cref="ImageBilling"/>) and PDFs or unfetched documents (<see cref="DocumentBilling"/>) add their own
/// counts. The text count never exceeds the request body's UTF-8 byte count: every counted text appears in the body
/// at least once (escaping only makes it longer), ceil(b/4) ≤ b, and each fixed overhead (4 per message,
/// 4 for the system prompt, 3 per request) is smaller than the JSON syntax that must surround it.
/// </summary>
internal static class TokenCounter
{
    public const int PerMessage = 4;
    public const int PerSystem = 4;
    public const int PerRequest = 3;

    public static int FromBytes(long utf8Bytes) => (int)((utf8Bytes + 3) / 4);

    public static int Count(string text) => FromBytes(Encoding.UTF8.GetByteCount(text));
}
