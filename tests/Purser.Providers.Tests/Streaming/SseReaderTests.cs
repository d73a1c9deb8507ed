using System.Text;
using Purser.Providers.Streaming;

namespace Purser.Providers.Tests.Streaming;

public class SseReaderTests
{
    private const string MixedStream =
        "event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n"
        + ": keep-alive comment\n\n"
        + "data:{\"no\":\"space\"}\n\n"
        + "event: multi\ndata: line one\ndata: line two\r\ndata:\ndata: four\r\r"
        + "id: 7\nretry: 1000\ndata: with id\n\n"
        + "data: old mac\rdata: cr only\r\r"
        + "data: é ☕ unicode\n\n"
        + "data: [DONE]\n\n";

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(42)]
    [InlineData(2024)]
    public async Task Random_small_reads_give_the_same_events_as_one_big_read(int seed)
    {
        var whole = await SseTestKit.ReadAllAsync(MixedStream);
        var pieces = await SseTestKit.ReadAllAsync(MixedStream, seed);

        Assert.Equal(7, whole.Count);
        Assert.Equal(whole, pieces);
    }

    [Fact]
    public async Task Every_line_ending_style_and_field_form_is_understood()
    {
        var events = await SseTestKit.ReadAllAsync(MixedStream, seed: 5);

        Assert.Equal(new ReadEvent("message_start", "{\"type\":\"message_start\"}", "event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n"), events[0]);
        Assert.Equal(("", "{\"no\":\"space\"}"), (events[1].EventName, events[1].Data));
        Assert.Equal(("multi", "line one\nline two\n\nfour"), (events[2].EventName, events[2].Data));
        Assert.Equal("with id", events[3].Data);
        Assert.Equal("old mac\ncr only", events[4].Data);
        Assert.Equal("é ☕ unicode", events[5].Data);
        Assert.Equal("[DONE]", events[6].Data);
    }

    [Fact]
    public async Task Comment_only_frames_are_not_delivered_and_comment_lines_do_not_reach_data()
    {
        var events = await SseTestKit.ReadAllAsync(": ping\n\ndata: a\n: inside\ndata: b\n\n:\n\n", seed: 9);

        var only = Assert.Single(events);
        Assert.Equal("a\nb", only.Data);
        Assert.Equal("data: a\n: inside\ndata: b\n\n", only.Raw);
    }

    [Fact]
    public async Task Raw_frames_concatenate_back_to_the_input_for_verbatim_pass_through()
    {
        var input = Samples.AnthropicToolStream.Replace("\n", "\r\n", StringComparison.Ordinal);

        var events = await SseTestKit.ReadAllAsync(input, seed: 77);

        Assert.Equal(19, events.Count);
        Assert.Equal(input, string.Concat(events.Select(e => e.Raw)));
    }

    [Theory]
    [InlineData("data: last", "data: last\n\n")]
    [InlineData("data: last\n", "data: last\n\n")]
    [InlineData("data: last\r", "data: last\r\r")]
    [InlineData("data: first\n\ndata: last", "data: last\n\n")]
    public async Task A_final_frame_without_blank_line_is_delivered_with_a_completed_raw(string input, string lastRaw)
    {
        foreach (var seed in new[] { -1, 3 })
        {
            var events = await SseTestKit.ReadAllAsync(input, seed);

            Assert.Equal("last", events[^1].Data);
            Assert.Equal(lastRaw, events[^1].Raw);
        }
    }

    [Fact]
    public async Task Cr_at_the_end_of_one_read_and_lf_at_the_start_of_the_next_is_one_line_end()
    {
        // Pieces of 1 byte put every "\r" and its "\n" in different reads.
        var events = await SseTestKit.ReadAllAsync(new ChunkedStream(Samples.Utf8("data: a\r\n\r\ndata: b\r\n\r\n"), seed: 1, maxPiece: 1));

        Assert.Equal(["a", "b"], events.Select(e => e.Data));
        Assert.Equal("data: a\r\n\r\n", events[0].Raw);
    }

    [Fact]
    public async Task Empty_stream_reads_nothing()
    {
        Assert.Empty(await SseTestKit.ReadAllAsync(""));
    }

    [Fact]
    public async Task A_frame_over_one_MiB_throws_InvalidDataException()
    {
        var unterminated = "data: " + new string('x', SseReader.MaxFrameBytes);
        var terminated = unterminated + "\n\n";

        await Assert.ThrowsAsync<InvalidDataException>(() => SseTestKit.ReadAllAsync(unterminated));
        await Assert.ThrowsAsync<InvalidDataException>(() => SseTestKit.ReadAllAsync(terminated));
        await Assert.ThrowsAsync<InvalidDataException>(() => SseTestKit.ReadAllAsync(new ChunkedStream(Encoding.UTF8.GetBytes(unterminated + "\n"), seed: 1, maxPiece: 65536)));
    }

    [Fact]
    public async Task A_frame_just_under_the_limit_is_read()
    {
        var payload = new string('y', SseReader.MaxFrameBytes - 100);

        var events = await SseTestKit.ReadAllAsync("data: " + payload + "\n\ndata: next\n\n");

        Assert.Equal(payload, events[0].Data);
        Assert.Equal("next", events[1].Data);
    }

    [Fact]
    public async Task The_stream_is_left_open_for_its_owner()
    {
        var stream = new MemoryStream(Samples.Utf8("data: x\n\n"));
        await using (var reader = new SseReader(stream))
        {
            Assert.True(await reader.ReadAsync(CancellationToken.None));
            Assert.False(await reader.ReadAsync(CancellationToken.None));
        }

        Assert.True(stream.CanRead);
    }
}
