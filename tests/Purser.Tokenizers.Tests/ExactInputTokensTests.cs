using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Microsoft.ML.Tokenizers;
using Purser.Pricing;

namespace Purser.Tokenizers.Tests;

/// <summary>The exact count of an OpenAI model's messages is tighter than their bytes and never below the tokens.</summary>
public sealed class ExactInputTokensTests
{
    private static readonly Tokenizer O200k = TiktokenTokenizer.CreateForEncoding("o200k_base");

    [Fact]
    public void English_text_is_held_at_its_tokens_not_its_bytes()
    {
        var text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 200));
        var (request, bytes) = Body(("user", text));

        var tighter = ExactInputTokens.Tighten(RequestShape.Text(bytes), request, "gpt-4o-mini-2024-07-18");

        Assert.NotNull(tighter);
        Assert.True(tighter.TextBytes < bytes / 3, $"{tighter.TextBytes} of {bytes}");
        Assert.True(tighter.TextBytes >= O200k.CountTokens(text));
    }

    [Fact]
    public void Models_without_a_public_tokeniser_keep_the_byte_bound()
    {
        var (request, bytes) = Body(("user", "hello"));

        Assert.Null(ExactInputTokens.Tighten(RequestShape.Text(bytes), request, "claude-sonnet-4-5"));
        Assert.Null(ExactInputTokens.Tighten(RequestShape.Text(bytes), request, "llama-3"));
        Assert.False(ExactInputTokens.Knows("mistral-large-latest"));
        Assert.True(ExactInputTokens.Knows("o3-mini"));
    }

    [Fact]
    public void The_tighter_bound_is_never_below_the_published_count_of_the_messages()
    {
        Gen.Select(Gen.String[0, 400], Gen.String[0, 400], Gen.Int[0, 2].Select(i => i == 0 ? "system" : i == 1 ? "user" : "assistant")).Sample((a, b, role) =>
        {
            var (request, bytes) = Body((role, a), ("user", b));
            var bound = ExactInputTokens.Tighten(RequestShape.Text(bytes), request, "gpt-4o")?.TextBytes ?? bytes;

            // OpenAI's count: 3 per message + the role + the content, and 3 for the reply.
            var published = 3 + (3 + O200k.CountTokens(role) + O200k.CountTokens(a)) + (3 + O200k.CountTokens("user") + O200k.CountTokens(b));
            Assert.True(bound >= published, $"{bound} < {published}");
        }, iter: 500);
    }

    private static (JsonObject Request, int Bytes) Body(params (string Role, string Content)[] messages)
    {
        var list = new JsonArray();
        foreach (var (role, content) in messages)
        {
            list.Add(new JsonObject { ["role"] = role, ["content"] = content });
        }

        var request = new JsonObject { ["model"] = "m", ["messages"] = list };
        var text = request.ToJsonString();
        return (JsonNode.Parse(text)!.AsObject(), Encoding.UTF8.GetByteCount(text));
    }
}
