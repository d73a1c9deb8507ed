namespace Purser.SimulatedProvider.Common;

/// <summary>
/// The deterministic text answer. Tokens have a fixed width in characters (5 for words: "lore ", the last one
/// without its space; 4 for JSON-mode text, matching ceil(bytes/4)), so token i is always
/// <c>Text[(i*width)..((i+1)*width)]</c> clipped to the text, and the token count is ceil(length / width).
/// </summary>
internal sealed class TextPlan
{
    private const int WordWidth = 5;
    private const int JsonWidth = 4;

    private static readonly string[] Words =
    [
        "lore", "ipsu", "dolo", "sita", "amet", "cons", "adip", "elit",
        "sedd", "eius", "temp", "inci", "labo", "magn", "aliq", "enim",
    ];

    // The word sequence repeats every 16 tokens, so one long precomputed string serves every common length.
    private static readonly string Cycle = BuildCycle(4096);

    private TextPlan(string text, int width, FinishKind finish, string? matchedStop)
    {
        Text = text;
        Width = width;
        Finish = finish;
        MatchedStop = matchedStop;
    }

    public string Text { get; }

    public int Width { get; }

    public FinishKind Finish { get; }

    public string? MatchedStop { get; }

    public int Tokens => (Text.Length + Width - 1) / Width;

    public static TextPlan Create(int outTokens, int? maxTokens, bool jsonMode, string[]? stops)
    {
        FinishKind finish = FinishKind.Natural;
        string text;
        int width;
        if (jsonMode)
        {
            width = JsonWidth;
            text = string.Concat("{\"answer\":\"", WordText(outTokens), "\"}");
            if (maxTokens is int cap && TokenCounter.FromBytes(text.Length) > cap)
            {
                // Like the real API, a JSON answer cut by max_tokens is simply incomplete JSON with finish "length".
                text = text[..(cap * JsonWidth)];
                finish = FinishKind.Length;
            }
        }
        else
        {
            width = WordWidth;
            int n = outTokens;
            if (maxTokens is int cap && n > cap)
            {
                n = cap;
                finish = FinishKind.Length;
            }

            text = WordText(n);
        }

        string? matched = null;
        if (stops is not null)
        {
            int cut = -1;
            foreach (string stop in stops)
            {
                if (stop.Length == 0)
                {
                    continue;
                }

                int at = text.IndexOf(stop, StringComparison.Ordinal);
                if (at >= 0 && (cut < 0 || at < cut))
                {
                    cut = at;
                    matched = stop;
                }
            }

            if (cut >= 0)
            {
                text = text[..cut];
                finish = FinishKind.StopSequence;
            }
        }

        return new TextPlan(text, width, finish, matched);
    }

    /// <summary>Characters of tokens [first, first+count), clipped to the text.</summary>
    public ReadOnlySpan<char> Slice(int firstToken, int count)
    {
        int start = Math.Min(firstToken * Width, Text.Length);
        int end = (int)Math.Min((long)(firstToken + count) * Width, Text.Length);
        return Text.AsSpan(start, end - start);
    }

    private static string WordText(int n)
    {
        if (n <= 0)
        {
            return string.Empty;
        }

        int length = (n * WordWidth) - 1;
        return length <= Cycle.Length ? Cycle[..length] : BuildCycle(n)[..length];
    }

    private static string BuildCycle(int tokens) =>
        string.Create(tokens * WordWidth, 0, static (span, _) =>
        {
            for (int i = 0; i < span.Length / WordWidth; i++)
            {
                Words[i % Words.Length].AsSpan().CopyTo(span[(i * WordWidth)..]);
                span[(i * WordWidth) + 4] = ' ';
            }
        });
}
