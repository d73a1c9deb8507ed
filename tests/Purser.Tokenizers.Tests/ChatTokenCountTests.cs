using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;

namespace Purser.Tokenizers.Tests;

/// <summary>The count behind count_tokens for OpenAI-format models: the tokeniser plus OpenAI's published overheads.</summary>
public sealed class ChatTokenCountTests
{
    private static readonly Tokenizer O200k = TiktokenTokenizer.CreateForEncoding("o200k_base");
    private static readonly Tokenizer Cl100k = TiktokenTokenizer.CreateForEncoding("cl100k_base");

    [Fact]
    public void Messages_count_three_each_plus_their_strings_plus_the_primer()
    {
        var request = JsonNode.Parse("""
            {"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello there, how are you?","name":"ann"}]}
            """)!.AsObject();
        long expected = 3
            + 3 + O200k.CountTokens("system") + O200k.CountTokens("Be brief.")
            + 3 + O200k.CountTokens("user") + O200k.CountTokens("Hello there, how are you?") + O200k.CountTokens("ann") + 1;

        Assert.Equal(expected, ChatTokenCount.Count(request, "gpt-4o"));
    }

    [Fact]
    public void The_model_picks_its_encoding_and_unknown_models_use_o200k()
    {
        var request = JsonNode.Parse("""{"messages":[{"role":"user","content":[{"type":"text","text":"naïve café — 東京"}]}]}""")!.AsObject();
        Assert.Equal(3 + 3 + Cl100k.CountTokens("user") + Cl100k.CountTokens("naïve café — 東京"), ChatTokenCount.Count(request, "gpt-4-0613"));
        Assert.Equal(3 + 3 + O200k.CountTokens("user") + O200k.CountTokens("naïve café — 東京"), ChatTokenCount.Count(request, "sim-chat"));
    }

    [Fact]
    public void Tools_follow_the_cookbook_formula()
    {
        var request = JsonNode.Parse("""
            {"messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"function","function":{"name":"lookup","description":"Look it up.","parameters":{"type":"object","properties":{
               "q":{"type":"string","description":"The query."},"unit":{"type":"string","enum":["c","f"]}}}}}]}
            """)!.AsObject();
        long messages = 3 + 3 + O200k.CountTokens("user") + O200k.CountTokens("hi");
        long tools = 7 + O200k.CountTokens("lookup:Look it up") + 3
            + 3 + O200k.CountTokens("q:string:The query")
            + 3 - 3 + 3 + O200k.CountTokens("c") + 3 + O200k.CountTokens("f") + O200k.CountTokens("unit:string:")
            + 12;
        Assert.Equal(messages + tools, ChatTokenCount.Count(request, "gpt-4o-mini"));
    }

    [Fact]
    public void Images_count_by_openai_image_formula()
    {
        var request = JsonNode.Parse("""{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/x.png","detail":"low"}}]}]}""")!.AsObject();
        Assert.Equal(3 + 3 + O200k.CountTokens("user") + 85, ChatTokenCount.Count(request, "gpt-4o"));
    }
}
