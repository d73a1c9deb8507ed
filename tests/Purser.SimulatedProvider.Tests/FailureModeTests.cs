using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Purser.SimulatedProvider.Tests;

public sealed class FailureModeTests : IClassFixture<SimServerFixture>
{
    private const string ChatBody = """{"model":"sim-chat~out=5","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""";

    private readonly SimServerFixture sim;

    public FailureModeTests(SimServerFixture sim)
    {
        this.sim = sim;
    }

    private static HttpRequestMessage Chat(string fail, string body = ChatBody)
    {
        HttpRequestMessage request = SimServerFixture.OpenAiRequest("/v1/chat/completions", body);
        request.Headers.Add("x-sim-fail", fail);
        return request;
    }

    [Fact]
    public async Task Fail_429_returns_openai_rate_limit_body_and_retry_after()
    {
        var (response, body) = await sim.SendJsonAsync(Chat("429"));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("1", response.Headers.GetValues("retry-after").Single());
        Assert.Equal("requests", (string)body["error"]!["type"]!);
        Assert.Equal("rate_limit_exceeded", (string)body["error"]!["code"]!);
        Assert.Null(body["error"]!["param"]);
    }

    [Fact]
    public async Task Fail_500_from_model_name_returns_server_error()
    {
        var (response, body) = await sim.ChatAsync("""{"model":"sim-chat~fail=500","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("server_error", (string)body["error"]!["type"]!);
    }

    [Theory]
    [InlineData("429", 429, "rate_limit_error")]
    [InlineData("500", 500, "api_error")]
    [InlineData("529", 529, "overloaded_error")]
    public async Task Anthropic_failures_use_anthropic_error_types(string fail, int status, string type)
    {
        HttpRequestMessage request = SimServerFixture.AnthropicRequest("""{"model":"claude-sim","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""");
        request.Headers.Add("x-sim-fail", fail);
        var (response, body) = await sim.SendJsonAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("error", (string)body["type"]!);
        Assert.Equal(type, (string)body["error"]!["type"]!);
    }

    [Fact]
    public async Task Malformed_json_is_200_application_json_that_does_not_parse()
    {
        HttpResponseMessage response = await sim.Http.SendAsync(Chat("malformed_json", """{"model":"sim-chat","messages":[{"role":"user","content":"hi"}]}"""));
        string text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(text));
    }

    [Fact]
    public async Task Malformed_sse_sends_one_good_chunk_then_garbage_and_no_done()
    {
        var (response, frames) = await sim.StreamAsync(Chat("malformed_sse"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("assistant", (string)JsonNode.Parse(frames[0].Data)!["choices"]![0]!["delta"]!["role"]!);
        Assert.True(frames.Count >= 2);
        foreach (var frame in frames.Skip(1))
        {
            Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(frame.Data));
        }

        Assert.DoesNotContain(frames, f => f.Data == "[DONE]");
    }

    [Fact]
    public async Task Stream_cut_midway_ends_without_finish_usage_or_done()
    {
        var (dataLines, _, ioFailure) = await ReadUntilEndAsync(Chat("cut:2"));

        // Role chunk + exactly 2 content chunks, then the connection dropped.
        Assert.True(ioFailure, "a stream cut mid-body must surface as an IOException");
        Assert.Equal(3, dataLines.Count);
        Assert.DoesNotContain("[DONE]", dataLines);
        Assert.All(dataLines, d => Assert.Null(JsonNode.Parse(d)!["choices"]![0]!["finish_reason"]));
        Assert.Equal("ipsu ", (string)JsonNode.Parse(dataLines[2])!["choices"]![0]!["delta"]!["content"]!);
    }

    [Fact]
    public async Task Anthropic_stream_cut_has_deltas_but_no_message_stop()
    {
        HttpRequestMessage request = SimServerFixture.AnthropicRequest("""{"model":"claude-sim~fail=cut:1","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""");
        var (_, events, ioFailure) = await ReadUntilEndAsync(request);

        Assert.True(ioFailure, "a stream cut mid-body must surface as an IOException");
        Assert.Equal(["message_start", "content_block_start", "ping", "content_block_delta"], events);
    }

    /// <summary>Reads an SSE body line by line until it ends or fails; bounded so a bug cannot hang the test.</summary>
    private async Task<(List<string> Data, List<string> Events, bool IoFailure)> ReadUntilEndAsync(HttpRequestMessage request)
    {
        HttpResponseMessage response = await sim.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var data = new List<string>();
        var events = new List<string>();
        try
        {
            for (int i = 0; i < 1000; i++)
            {
                string? line = await reader.ReadLineAsync();
                if (line is null)
                {
                    return (data, events, false);
                }

                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data.Add(line["data: ".Length..]);
                }
                else if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    events.Add(line["event: ".Length..]);
                }
            }
        }
        catch (IOException)
        {
            return (data, events, true);
        }

        return (data, events, false);
    }

    [Fact]
    public async Task Timeout_never_answers_until_the_client_gives_up()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300), TimeProvider.System);
        var watch = RealClock.Start();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sim.Http.SendAsync(Chat("timeout"), cts.Token));

        Assert.True(watch.ElapsedMilliseconds >= 250, $"gave up after {watch.ElapsedMilliseconds} ms");
        // The server is still healthy after the abandoned request.
        Assert.Equal("ok", await sim.Http.GetStringAsync("/health"));
    }

    [Fact]
    public async Task Unknown_failure_mode_is_rejected_as_bad_request()
    {
        var (response, body) = await sim.SendJsonAsync(Chat("sometimes"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("sometimes", (string)body["error"]!["message"]!, StringComparison.Ordinal);
    }
}
