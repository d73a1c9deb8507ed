using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.Tests;

public sealed class TextPlanTests
{
    [Fact]
    public void Word_text_is_deterministic_and_token_count_matches_words()
    {
        TextPlan plan = TextPlan.Create(18, maxTokens: null, jsonMode: false, stops: null);

        string[] words = plan.Text.Split(' ');
        Assert.Equal(18, words.Length);
        Assert.Equal(18, plan.Tokens);
        Assert.All(words, w => Assert.Matches("^[a-z]{4}$", w));
        Assert.Equal(words[0], words[16]);
        Assert.Equal(16, words.Take(16).Distinct().Count());
        Assert.Equal(FinishKind.Natural, plan.Finish);
    }

    [Fact]
    public void Slices_reassemble_the_text_for_any_chunk_size()
    {
        TextPlan plan = TextPlan.Create(7, maxTokens: null, jsonMode: false, stops: ["amet"]);
        for (int chunk = 1; chunk <= 4; chunk++)
        {
            var text = new System.Text.StringBuilder();
            for (int t = 0; t < plan.Tokens; t += chunk)
            {
                text.Append(plan.Slice(t, chunk));
            }

            Assert.Equal(plan.Text, text.ToString());
        }

        Assert.Equal("lore ipsu dolo sita ", plan.Text);
        Assert.Equal(4, plan.Tokens);
        Assert.Equal("amet", plan.MatchedStop);
    }

    [Fact]
    public void Large_outputs_beyond_the_cached_cycle_are_built()
    {
        TextPlan plan = TextPlan.Create(5000, maxTokens: null, jsonMode: false, stops: null);

        Assert.Equal(5000, plan.Tokens);
        Assert.Equal((5000 * 5) - 1, plan.Text.Length);
    }

    [Fact]
    public void Json_answer_cut_by_max_tokens_reports_length()
    {
        TextPlan plan = TextPlan.Create(20, maxTokens: 3, jsonMode: true, stops: null);

        Assert.Equal(FinishKind.Length, plan.Finish);
        Assert.Equal(3, plan.Tokens);
        Assert.Equal(12, plan.Text.Length);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("abcd", 1)]
    [InlineData("abcde", 2)]
    [InlineData("é", 1)]
    [InlineData("日本語", 3)]
    public void Count_is_ceiling_of_utf8_bytes_over_four(string text, int expected)
    {
        Assert.Equal(expected, TokenCounter.Count(text));
    }
}
