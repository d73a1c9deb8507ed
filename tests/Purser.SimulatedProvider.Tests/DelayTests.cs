
namespace Purser.SimulatedProvider.Tests;

/// <summary>Real-clock checks: only lower bounds are asserted, so a slow machine cannot make them flaky.</summary>
public sealed class DelayTests : IClassFixture<SimServerFixture>
{
    private readonly SimServerFixture sim;

    public DelayTests(SimServerFixture sim)
    {
        this.sim = sim;
    }

    [Fact]
    public async Task Latency_delays_the_non_stream_response()
    {
        var watch = RealClock.Start();
        var (response, _) = await sim.ChatAsync("""{"model":"sim-chat~latency=60","messages":[{"role":"user","content":"hi"}]}""");

        Assert.True(response.IsSuccessStatusCode);
        Assert.True(watch.ElapsedMilliseconds >= 60, $"answered after {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Ttft_delays_the_first_content_chunk_not_the_headers()
    {
        HttpRequestMessage request = SimServerFixture.OpenAiRequest("/v1/chat/completions", """{"model":"sim-chat~out=2","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        request.Headers.Add("x-sim-ttft", "60");
        var watch = RealClock.Start();
        HttpResponseMessage response = await sim.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        long firstContentAt = -1;
        for (int i = 0; i < 100 && firstContentAt < 0; i++)
        {
            string? line = await reader.ReadLineAsync();
            if (line is null)
            {
                break;
            }

            if (line.Contains("\"content\":\"lore", StringComparison.Ordinal))
            {
                firstContentAt = watch.ElapsedMilliseconds;
            }
        }

        Assert.True(firstContentAt >= 60, $"first content after {firstContentAt} ms");
    }

    [Fact]
    public async Task Tokens_per_second_paces_the_stream()
    {
        // 6 tokens at 100 tokens/s: the last token is due 50 ms after the first.
        var watch = RealClock.Start();
        var (_, frames) = await sim.StreamAsync(SimServerFixture.AnthropicRequest("""
            {"model":"claude-sim~out=6,tps=100","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}
            """));

        Assert.Equal(6, frames.Count(f => f.Event == "content_block_delta"));
        // The pacer skips waits under a millisecond, so the last token may land that much early.
        Assert.True(watch.ElapsedMilliseconds >= 45, $"streamed in {watch.ElapsedMilliseconds} ms");
    }
}
