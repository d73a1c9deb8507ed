using System.Text;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Usage;

namespace Purser.Gateway.Tests.Proxy;

/// <summary>A stream that ends without usage is still recorded from what was counted, never at $0.</summary>
[Collection(GatewayCollection.Name)]
public sealed class StreamSettlementTests
{
    private readonly GatewayFixture _fixture;

    public StreamSettlementTests(GatewayFixture fixture) => _fixture = fixture;

    [Theory]
    [InlineData("sim-slow", "/v1/chat/completions", false)]
    [InlineData("claude-slow", "/v1/messages", true)]
    [InlineData("claude-slow", "/v1/chat/completions", false)]
    [InlineData("sim-slow", "/v1/messages", true)]
    public async Task Client_disconnect_after_a_few_chunks_leaves_a_counted_nonzero_usage_record(string model, string path, bool anthropicCaller)
    {
        var body = anthropicCaller
            ? $$"""{"model":"{{model}}","max_tokens":1000,"stream":true,"messages":[{"role":"user","content":"long story please"}]}"""
            : $$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"long story please"}]}""";
        var request = anthropicCaller ? Requests.Messages(body) : Requests.Chat(model, body);
        request.RequestUri = new Uri(path, UriKind.Relative);

        string requestId;
        using (var client = new HttpClient { BaseAddress = _fixture.BaseAddress })
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            requestId = response.Headers.GetValues("x-request-id").First();
            await using var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[4096];
            var seen = new StringBuilder();
            var frames = 0;
            while (frames < 8)
            {
                var read = await stream.ReadAsync(buffer);
                Assert.NotEqual(0, read);
                var chunk = Encoding.UTF8.GetString(buffer, 0, read);
                seen.Append(chunk);
                frames = seen.ToString().Split("\n\n").Length - 1;
            }
        }

        var record = await WaitForRecordAsync(requestId);
        Assert.Equal(UsageSource.Counted, record.Source);
        Assert.Equal(499, record.Status);
        Assert.True(record.Tokens.OutputTokens > 0, "output tokens were counted");
        Assert.True(record.Tokens.OutputTokens < 400, "the stream was cut long before its end");
        Assert.True(record.Tokens.InputTokens > 0);
        Assert.True(record.Cost.NanoUsd > 0);
        Assert.True(record.Streamed);
    }

    [Theory]
    [InlineData("sim-cut", false)]
    [InlineData("claude-cut", false)]
    [InlineData("sim-cut", true)]
    public async Task Upstream_cut_midway_is_settled_from_the_count(string model, bool anthropicCaller)
    {
        var body = anthropicCaller
            ? $$"""{"model":"{{model}}","max_tokens":1000,"stream":true,"messages":[{"role":"user","content":"hi"}]}"""
            : $$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"hi"}]}""";
        using var response = await _fixture.Http.SendAsync(anthropicCaller ? Requests.Messages(body) : Requests.Chat(model, body));
        var requestId = response.Headers.GetValues("x-request-id").First();
        _ = await response.Content.ReadAsStringAsync();

        var record = await WaitForRecordAsync(requestId);
        Assert.True(record.Source == UsageSource.Counted, record.ToString());
        Assert.InRange(record.Tokens.OutputTokens, 5, 49);
        Assert.True(record.Cost.NanoUsd > 0);
    }

    [Fact]
    public async Task Stream_without_include_usage_does_not_show_the_gateways_usage_chunk_to_the_caller()
    {
        using var response = await _fixture.Http.SendAsync(Requests.Chat("sim-chat", """{"model":"sim-chat","stream":true,"messages":[{"role":"user","content":"hi"}]}"""));
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("\"choices\":[]", text, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);

        // The gateway asked for usage anyway, so the record is the provider's own count.
        var record = await WaitForRecordAsync(response.Headers.GetValues("x-request-id").First());
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(20, record.Tokens.OutputTokens);
    }

    [Fact]
    public async Task The_final_usage_chunk_carries_the_requests_cost()
    {
        using var response = await _fixture.Http.SendAsync(Requests.Chat("sim-chat", """{"model":"sim-chat","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"""));
        var text = await response.Content.ReadAsStringAsync();
        var usageChunk = text.Split("\n\n").Single(f => f.Contains("\"choices\":[]", StringComparison.Ordinal));
        var cost = System.Text.Json.Nodes.JsonNode.Parse(usageChunk["data: ".Length..])!["usage"]!["cost"]!.GetValue<decimal>();

        var record = await WaitForRecordAsync(response.Headers.GetValues("x-request-id").First());
        Assert.Equal(record.Cost.ToUsd(), cost);
        Assert.True(cost > 0);
    }

    private async Task<UsageRecord> WaitForRecordAsync(string requestId)
    {
        // The gateway notices a client disconnect asynchronously; poll a bounded number of times.
        for (var attempt = 0; ; attempt++)
        {
            await _fixture.Gateway.FlushUsageAsync();
            var records = await _fixture.Gateway.Usage.QueryAsync(new UsageQuery { Limit = 100_000 }, CancellationToken.None);
            var record = records.FirstOrDefault(r => r.RequestId == requestId);
            if (record is not null)
            {
                return record;
            }

            Assert.True(attempt < 100, "no usage record within 10 s");
            await Poll.NextAsync(100);
        }
    }
}
