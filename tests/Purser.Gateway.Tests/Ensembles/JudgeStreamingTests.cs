using System.Net;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Usage;

namespace Purser.Gateway.Tests.Ensembles;

/// <summary>
/// A streaming caller of an ensemble gets the judge's answer as the judge writes it (paced by the simulator's tps),
/// with the whole ensemble's usage at the end, equal to the usage record; a caller that leaves mid-judge still leaves
/// a record of what the judge had produced.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class JudgeStreamingTests
{
    // 60 judge tokens at 200 per second: 300 ms of generation between the judge's first and last token.
    private static readonly TimeSpan MostOfJudgeGeneration = TimeSpan.FromMilliseconds(200);

    private readonly EnsembleFixture _fixture;

    public JudgeStreamingTests(EnsembleFixture fixture) => _fixture = fixture;

    [Theory]
    [InlineData("paced", "/v1/chat/completions")]
    [InlineData("paced-a", "/v1/chat/completions")]
    [InlineData("paced", "/v1/messages")]
    [InlineData("paced-a", "/v1/messages")]
    public async Task The_judge_answer_streams_token_by_token_and_its_final_usage_equals_the_usage_record(string ensemble, string path)
    {
        var keyId = "judge-stream-" + ensemble + path.Replace('/', '-');
        var secret = await _fixture.CreateKeyAsync(keyId);
        var anthropicCaller = path == "/v1/messages";
        var body = anthropicCaller
            ? $$"""{"model":"{{ensemble}}","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"which is best?"}]}"""
            : EnsembleFixture.ChatBody(ensemble, 64, stream: true);

        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, path), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("pa,pb", response.Headers.GetValues("x-ensemble-panel").Single());
        var frames = await ReadFramesAsync(response, stopAtFirstContent: false);

        Assert.True(frames.LastContent - frames.FirstContent >= MostOfJudgeGeneration, $"content arrived over {(frames.LastContent - frames.FirstContent).TotalMilliseconds} ms");
        Assert.True(frames.ContentFrames > 10, $"{frames.ContentFrames} content frames");
        var record = Assert.Single(await _fixture.UsageOfKeyAsync(keyId));
        Assert.Equal(200, record.Status);
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(10 + 12 + 60, record.Tokens.OutputTokens);
        if (anthropicCaller)
        {
            Assert.Equal(record.Tokens.OutputTokens, frames.Usage!["output_tokens"]!.GetValue<long>());
            Assert.Equal(record.Tokens.InputTokens, frames.InputTokens);
            Assert.Contains($"\"model\":\"{ensemble}\"", frames.Text, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(record.Tokens.OutputTokens, frames.Usage!["completion_tokens"]!.GetValue<long>());
            Assert.Equal(record.Tokens.InputTokens, frames.Usage["prompt_tokens"]!.GetValue<long>());
            Assert.Equal(record.Cost.ToUsd(), frames.Usage["cost"]!.GetValue<decimal>());
            Assert.DoesNotContain("sim-chat", frames.Text, StringComparison.Ordinal);
            Assert.EndsWith("data: [DONE]\n\n", frames.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_caller_that_disconnects_mid_judge_stream_leaves_a_counted_non_zero_record()
    {
        const string keyId = "judge-stream-gone";
        var secret = await _fixture.CreateKeyAsync(keyId);
        // A client of its own, disposed with the response, so the connection closes rather than being drained for reuse.
        using (var client = new HttpClient { BaseAddress = _fixture.Gateway.BaseAddress })
        using (var response = await client.SendAsync(_fixture.Chat(secret, EnsembleFixture.ChatBody("endless", 4000, stream: true)), HttpCompletionOption.ResponseHeadersRead))
        {
            var frames = await ReadFramesAsync(response, stopAtFirstContent: true);
            Assert.Equal(1, frames.ContentFrames);
        }

        UsageRecord? record = null;
        for (var attempt = 0; attempt < 100 && record is null; attempt++)
        {
            record = (await _fixture.UsageOfKeyAsync(keyId)).SingleOrDefault();
            if (record is null)
            {
                await Poll.NextAsync(50);
            }
        }

        Assert.NotNull(record);
        Assert.Equal(499, record.Status);
        Assert.Equal(UsageSource.Counted, record.Source);
        Assert.True(record.Tokens.OutputTokens > 10 + 12, $"{record.Tokens.OutputTokens} output tokens");
        Assert.True(record.Tokens.OutputTokens < 4000, $"{record.Tokens.OutputTokens} output tokens");
        Assert.True(record.Cost.NanoUsd > 0);
    }

    private static async Task<Frames> ReadFramesAsync(HttpResponseMessage response, bool stopAtFirstContent)
    {
        var clock = RealClock.Start();
        var frames = new Frames();
        var text = new System.Text.StringBuilder();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            text.Append(line).Append('\n');
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]")
            {
                continue;
            }

            var data = JsonNode.Parse(line["data: ".Length..])!.AsObject();
            var content = data["choices"]?.AsArray() is [{ } choice, ..] ? choice["delta"]?["content"]?.GetValue<string>() : null;
            var isContent = !string.IsNullOrEmpty(content) || data["type"]?.GetValue<string>() == "content_block_delta";
            if (isContent)
            {
                frames.ContentFrames++;
                frames.FirstContent = frames.ContentFrames == 1 ? clock.Elapsed : frames.FirstContent;
                frames.LastContent = clock.Elapsed;
                if (stopAtFirstContent)
                {
                    break;
                }
            }

            if (data["usage"] is JsonObject usage)
            {
                frames.Usage = usage;
                frames.InputTokens = usage["input_tokens"]?.GetValue<long>() is > 0 and var input ? input : frames.InputTokens;
            }

            if (data["message"]?["usage"] is JsonObject startUsage)
            {
                frames.InputTokens = startUsage["input_tokens"]!.GetValue<long>();
            }
        }

        frames.Text = text.ToString();
        return frames;
    }

    private sealed class Frames
    {
        public TimeSpan FirstContent { get; set; }

        public TimeSpan LastContent { get; set; }

        public int ContentFrames { get; set; }

        public JsonObject? Usage { get; set; }

        public long? InputTokens { get; set; }

        public string Text { get; set; } = "";
    }
}
