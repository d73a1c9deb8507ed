using System.Net;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Usage;

namespace Purser.Gateway.Tests.Proxy;

/// <summary>
/// Claude Code sends <c>role: "system"</c> entries inside Anthropic <c>messages</c>. The gateway accepts them on every
/// path: translated in place to system messages for an OpenAI-format model, passed through as sent to an Anthropic
/// one (where Anthropic itself, and the simulator with it, refuses them: that refusal is relayed, $0).
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class SystemRoleMessagesTests
{
    private readonly GatewayFixture _fixture;

    public SystemRoleMessagesTests(GatewayFixture fixture) => _fixture = fixture;

    private static string ClaudeCodeLike(string model, bool stream) => $$$"""
        {"model":"{{{model}}}","max_tokens":512,"stream":{{{(stream ? "true" : "false")}}},
         "system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],
         "messages":[
           {"role":"user","content":[{"type":"text","text":"Fix the failing test."}]},
           {"role":"system","content":"<system-reminder>The working directory is clean.</system-reminder>"},
           {"role":"assistant","content":[{"type":"text","text":"Looking."},{"type":"tool_use","id":"toolu_1","name":"Read","input":{"path":"a.cs"}}]},
           {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"class A {}"}]},
           {"role":"system","content":[{"type":"text","text":"Reminder: keep edits small."},{"type":"text","text":"Todo list is empty."}]},
           {"role":"user","content":"Go on."}],
         "tools":[{"name":"Read","description":"Read a file","input_schema":{"type":"object","properties":{"path":{"type":"string"} } } }]}
        """;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_openai_format_model_answers_a_turn_with_system_entries_and_charges_it(bool stream)
    {
        using var response = await _fixture.Http.SendAsync(Requests.Messages(ClaudeCodeLike("sim-chat", stream)));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        if (stream)
        {
            Assert.Contains("event: message_stop", body, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("message", (string)JsonNode.Parse(body)!["type"]!);
        }

        var record = await _fixture.UsageOfAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(200, record.Status);
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.True(record.Cost.NanoUsd > 0);
    }

    [Fact]
    public async Task The_count_of_a_turn_with_system_entries_is_answered_for_an_openai_format_model()
    {
        using var response = await _fixture.Http.SendAsync(Requests.CountTokens(ClaudeCodeLike("sim-chat", stream: false)));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.True((long)JsonNode.Parse(body)!["input_tokens"]! > 20);
    }

    [Theory]
    [InlineData("/v1/messages")]
    [InlineData("/v1/messages/count_tokens")]
    public async Task An_anthropic_model_gets_them_as_sent_and_its_refusal_is_relayed_free(string path)
    {
        using var response = await _fixture.Http.SendAsync(Requests.Messages(ClaudeCodeLike("claude-sim", stream: false), path: path));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", (string)body["error"]!["type"]!);
        Assert.Contains("Unexpected role \"system\"", (string)body["error"]!["message"]!, StringComparison.Ordinal);

        var record = await _fixture.UsageOfAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(0, record.Cost.NanoUsd);
        Assert.Equal("upstream_400", record.ErrorCode);
    }
}
