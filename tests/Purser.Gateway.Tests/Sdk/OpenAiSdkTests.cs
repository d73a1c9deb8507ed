using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;
using OpenAI.Models;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Usage;

namespace Purser.Gateway.Tests.Sdk;

/// <summary>The official OpenAI .NET SDK, pointed at the gateway by base URL, works as it does against OpenAI.</summary>
[Collection(GatewayCollection.Name)]
public sealed class OpenAiSdkTests
{
    private readonly GatewayFixture _fixture;

    public OpenAiSdkTests(GatewayFixture fixture) => _fixture = fixture;

    private OpenAIClientOptions Options() => new()
    {
        Endpoint = new Uri(_fixture.BaseAddress, "v1/"),
        RetryPolicy = new ClientRetryPolicy(0),
    };

    private ChatClient Chat(string model, string secret = GatewayFixture.Secret) => new(model, new ApiKeyCredential(secret), Options());

    [Fact]
    public async Task Chat_completion_returns_the_answer_usage_and_a_priced_usage_record()
    {
        var result = await Chat("sim-chat").CompleteChatAsync([new UserChatMessage("Say hello to the gateway")]);
        var completion = result.Value;

        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.Equal(20, completion.Usage.OutputTokenCount);

        var raw = result.GetRawResponse();
        Assert.True(raw.Headers.TryGetValue("x-request-id", out var requestId));
        Assert.True(raw.Headers.TryGetValue("x-request-cost", out var costHeader));
        var record = await _fixture.UsageOfAsync(requestId!);
        Assert.Equal("test-key", record.KeyId);
        Assert.Equal("sim-chat", record.ModelAlias);
        Assert.Equal("sim-openai", record.Provider);
        Assert.Equal(200, record.Status);
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(completion.Usage.InputTokenCount, record.Tokens.InputTokens);
        Assert.Equal(20, record.Tokens.OutputTokens);

        // sim-chat is priced $0.50 in / $1.50 out per million tokens by the shipped catalog.
        var expectedNano = ((completion.Usage.InputTokenCount * 500_000_000L) + (20 * 1_500_000_000L) + 999_999) / 1_000_000;
        Assert.Equal(expectedNano, record.Cost.NanoUsd);
        Assert.Equal(record.Cost.ToString(), costHeader);
    }

    [Fact]
    public async Task Cached_input_tokens_are_reported_and_priced_at_the_cached_rate()
    {
        var result = await Chat("sim-cached").CompleteChatAsync([new UserChatMessage("A prompt long enough to have a cached prefix of eight tokens at least")]);
        var usage = result.Value.Usage;
        Assert.Equal(8, usage.InputTokenDetails.CachedTokenCount);

        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-request-id", out var requestId));
        var record = await _fixture.UsageOfAsync(requestId!);
        Assert.Equal(8, record.Tokens.CachedInputTokens);

        // sim-cached: $0.50 per million input, $0.25 cached, $1.50 output.
        var uncached = record.Tokens.InputTokens - 8;
        Assert.Equal((uncached * 500) + (8 * 250) + (record.Tokens.OutputTokens * 1500), record.Cost.NanoUsd);
    }

    [Fact]
    public async Task Streaming_chat_delivers_every_chunk_and_the_final_usage()
    {
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var updates = 0;
        await foreach (var update in Chat("sim-chat").CompleteChatStreamingAsync([new UserChatMessage("Stream to me")]))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.True(updates >= 20, $"expected one update per token, got {updates}");
        Assert.Equal(20, text.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(20, usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Tool_call_and_tool_result_round_trip()
    {
        var options = new ChatCompletionOptions
        {
            Tools =
            {
                ChatTool.CreateFunctionTool(
                    "get_weather",
                    "Weather for a city",
                    BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city","days"]}""")),
            },
        };
        List<ChatMessage> messages = [new UserChatMessage("What is the weather in Oslo?")];
        var first = (await Chat("sim-chat").CompleteChatAsync(messages, options)).Value;

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        using (var args = JsonDocument.Parse(call.FunctionArguments))
        {
            Assert.Equal(JsonValueKind.String, args.RootElement.GetProperty("city").ValueKind);
            Assert.Equal(JsonValueKind.Number, args.RootElement.GetProperty("days").ValueKind);
        }

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, """{"temperature":3}"""));
        var second = (await Chat("sim-chat").CompleteChatAsync(messages, options)).Value;
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        Assert.False(string.IsNullOrWhiteSpace(second.Content[0].Text));
    }

    [Fact]
    public async Task Json_mode_returns_a_json_object()
    {
        var options = new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat() };
        var completion = (await Chat("sim-chat").CompleteChatAsync([new UserChatMessage("Answer in JSON")], options)).Value;
        using var json = JsonDocument.Parse(completion.Content[0].Text);
        Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
    }

    [Fact]
    public async Task Max_tokens_and_stop_sequences_reach_the_provider()
    {
        var capped = (await Chat("sim-chat").CompleteChatAsync([new UserChatMessage("Long answer")], new ChatCompletionOptions { MaxOutputTokenCount = 5 })).Value;
        Assert.Equal(ChatFinishReason.Length, capped.FinishReason);
        Assert.Equal(5, capped.Usage.OutputTokenCount);

        var full = (await Chat("sim-chat").CompleteChatAsync([new UserChatMessage("Long answer")])).Value.Content[0].Text;
        var stopWord = full.Split(' ')[3];
        var stopped = (await Chat("sim-chat").CompleteChatAsync([new UserChatMessage("Long answer")], new ChatCompletionOptions { StopSequences = { stopWord } })).Value;
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.DoesNotContain(stopWord, stopped.Content[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Several_choices_with_n_are_returned()
    {
        var response = await _fixture.Http.SendAsync(Requests.Chat("sim-chat", """{"model":"sim-chat","n":2,"messages":[{"role":"user","content":"two please"}]}"""));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(200, (int)response.StatusCode);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(2, json.RootElement.GetProperty("choices").GetArrayLength());
        Assert.Equal(40, json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Anthropic_backed_alias_answers_the_openai_sdk_with_usage_and_cached_tokens_counted()
    {
        var completion = (await Chat("claude-sim").CompleteChatAsync([new SystemChatMessage("Be brief."), new UserChatMessage("Hello Claude")])).Value;
        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(20, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount > 0);
    }

    [Fact]
    public async Task Anthropic_backed_alias_streams_to_the_openai_sdk()
    {
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in Chat("claude-sim").CompleteChatStreamingAsync([new UserChatMessage("Stream from Claude")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal(20, text.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.Equal(20, usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Anthropic_backed_alias_makes_tool_calls_for_the_openai_sdk()
    {
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool("lookup", "Look something up", BinaryData.FromString("""{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}""")) },
        };
        List<ChatMessage> messages = [new UserChatMessage("Look up the gateway")];
        var first = (await Chat("claude-sim").CompleteChatAsync(messages, options)).Value;
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("lookup", call.FunctionName);

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, "found it"));
        var second = (await Chat("claude-sim").CompleteChatAsync(messages, options)).Value;
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
    }

    [Fact]
    public async Task Embeddings_are_returned_and_priced()
    {
        var client = new EmbeddingClient("sim-embed", new ApiKeyCredential(GatewayFixture.Secret), Options());
        var result = await client.GenerateEmbeddingAsync("embed this text");
        Assert.True(result.Value.ToFloats().Length > 0);
        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-request-id", out var requestId));
        var record = await _fixture.UsageOfAsync(requestId!);
        Assert.Equal("embeddings", record.Operation);
        Assert.True(record.Tokens.InputTokens > 0);
        Assert.True(record.Cost.NanoUsd > 0);
    }

    [Fact]
    public async Task Model_list_shows_only_the_models_a_key_may_use()
    {
        var all = (await new OpenAIModelClient(new ApiKeyCredential(GatewayFixture.Secret), Options()).GetModelsAsync()).Value;
        Assert.Contains(all, m => m.Id == "claude-sim");
        var limited = (await new OpenAIModelClient(new ApiKeyCredential(GatewayFixture.LimitedSecret), Options()).GetModelsAsync()).Value;
        Assert.Equal("sim-chat", Assert.Single(limited).Id);
    }

    [Theory]
    [InlineData("sim-chat", "sk-purser-wrong", 401)]
    [InlineData("sim-chat", GatewayFixture.ExpiredSecret, 401)]
    [InlineData("no-such-model", GatewayFixture.Secret, 404)]
    [InlineData("claude-sim", GatewayFixture.LimitedSecret, 403)]
    [InlineData("sim-429", GatewayFixture.Secret, 429)]
    [InlineData("claude-429", GatewayFixture.Secret, 429)]
    [InlineData("sim-garbage", GatewayFixture.Secret, 502)]
    public async Task Refusals_and_upstream_failures_surface_as_the_sdk_exception_with_the_status(string model, string secret, int status)
    {
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Chat(model, secret).CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(status, ex.Status);
        Assert.DoesNotContain(GatewayFixture.ProviderSecret, ex.Message, StringComparison.Ordinal);
    }
}
