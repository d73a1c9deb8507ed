using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Sdk;

/// <summary>The official Anthropic .NET SDK, pointed at the gateway by base URL, works as it does against Anthropic.</summary>
[Collection(GatewayCollection.Name)]
public sealed class AnthropicSdkTests
{
    private readonly GatewayFixture _fixture;

    public AnthropicSdkTests(GatewayFixture fixture) => _fixture = fixture;

    private AnthropicClient Client(string secret = GatewayFixture.Secret) => new()
    {
        ApiKey = secret,
        BaseUrl = _fixture.BaseAddress.AbsoluteUri.TrimEnd('/'),
        MaxRetries = 0,
    };

    private static MessageCreateParams Ask(string model, string prompt, int maxTokens = 256) => new()
    {
        Model = model,
        MaxTokens = maxTokens,
        Messages = [new UserMessageParam(prompt)],
    };

    private static string TextOf(Message message)
    {
        var text = new StringBuilder();
        foreach (var block in message.Content)
        {
            if (block.TryPickText(out var t))
            {
                text.Append(t.Text);
            }
        }

        return text.ToString();
    }

    [Fact]
    public async Task Message_create_returns_text_and_usage()
    {
        var message = await Client().Messages.Create(Ask("claude-sim", "Hello through the gateway"));
        Assert.Equal(20, TextOf(message).Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(StopReason.EndTurn, message.StopReason!.Value());
        Assert.Equal(20, message.Usage.OutputTokens);
        Assert.True(message.Usage.InputTokens > 0);
    }

    [Fact]
    public async Task Streaming_message_delivers_every_delta_and_final_usage()
    {
        var text = new StringBuilder();
        long? outputTokens = null;
        await foreach (var ev in Client().Messages.CreateStreaming(Ask("claude-sim", "Stream please")))
        {
            if (ev.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var t))
            {
                text.Append(t.Text);
            }

            if (ev.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta.Usage.OutputTokens;
            }
        }

        Assert.Equal(20, text.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(20, outputTokens);
    }

    [Fact]
    public async Task Tool_use_and_tool_result_round_trip()
    {
        var tool = new Tool
        {
            Name = "lookup",
            Description = "Look something up",
            InputSchema = new InputSchema
            {
                Properties = new Dictionary<string, JsonElement> { ["query"] = JsonDocument.Parse("""{"type":"string"}""").RootElement },
                Required = ["query"],
            },
        };
        var ask = Ask("claude-sim", "Look up the gateway") with { Tools = [tool] };
        var first = await Client().Messages.Create(ask);
        Assert.Equal(StopReason.ToolUse, first.StopReason!.Value());
        ToolUseBlock? use = null;
        foreach (var block in first.Content)
        {
            if (block.TryPickToolUse(out var u))
            {
                use = u;
            }
        }

        Assert.NotNull(use);
        Assert.Equal("lookup", use!.Name);

        var followUp = ask with
        {
            Messages =
            [
                new UserMessageParam("Look up the gateway"),
                new AssistantMessageParam(new List<ContentBlockParam> { new ToolUseBlockParam { ID = use.ID, Name = use.Name, Input = use.Input } }),
                new UserMessageParam(new List<ContentBlockParam> { new ToolResultBlockParam { ToolUseID = use.ID, Content = "found it" } }),
            ],
        };
        var second = await Client().Messages.Create(followUp);
        Assert.Equal(StopReason.EndTurn, second.StopReason!.Value());
        Assert.False(string.IsNullOrWhiteSpace(TextOf(second)));
    }

    [Fact]
    public async Task Openai_backed_alias_answers_the_anthropic_sdk()
    {
        var message = await Client().Messages.Create(Ask("sim-chat", "Hello GPT, from Claude's SDK") with { System = "Be brief." });
        Assert.Equal(20, TextOf(message).Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(StopReason.EndTurn, message.StopReason!.Value());
        Assert.Equal(20, message.Usage.OutputTokens);
    }

    [Fact]
    public async Task Openai_backed_alias_streams_to_the_anthropic_sdk_with_usage()
    {
        var text = new StringBuilder();
        long? outputTokens = null;
        var stops = 0;
        await foreach (var ev in Client().Messages.CreateStreaming(Ask("sim-chat", "Stream from GPT")))
        {
            if (ev.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var t))
            {
                text.Append(t.Text);
            }

            if (ev.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta.Usage.OutputTokens;
            }

            if (ev.TryPickStop(out _))
            {
                stops++;
            }
        }

        Assert.Equal(20, text.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(20, outputTokens);
        Assert.Equal(1, stops);
    }

    [Fact]
    public async Task Openai_backed_alias_makes_tool_calls_for_the_anthropic_sdk()
    {
        var tool = new Tool
        {
            Name = "lookup",
            InputSchema = new InputSchema
            {
                Properties = new Dictionary<string, JsonElement> { ["query"] = JsonDocument.Parse("""{"type":"string"}""").RootElement },
                Required = ["query"],
            },
        };
        var message = await Client().Messages.Create(Ask("sim-chat", "Look it up") with { Tools = [tool] });
        Assert.Equal(StopReason.ToolUse, message.StopReason!.Value());
        Assert.Contains(message.Content, b => b.TryPickToolUse(out var u) && u.Name == "lookup");
    }

    [Fact]
    public async Task Wrong_key_is_the_sdk_authentication_exception()
    {
        var ex = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Client("sk-purser-nope").Messages.Create(Ask("claude-sim", "hi")));
        Assert.Equal(401, (int)ex.StatusCode);
    }

    [Fact]
    public async Task Upstream_rate_limit_is_the_sdk_rate_limit_exception()
    {
        var ex = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Client().Messages.Create(Ask("claude-429", "hi")));
        Assert.Equal(429, (int)ex.StatusCode);
    }

    [Fact]
    public async Task Unknown_model_is_the_sdk_not_found_exception()
    {
        var ex = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Client().Messages.Create(Ask("no-such-model", "hi")));
        Assert.Equal(404, (int)ex.StatusCode);
    }
}
