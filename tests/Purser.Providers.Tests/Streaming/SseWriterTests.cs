using System.Buffers;
using System.Text;
using Purser.Providers.Streaming;

namespace Purser.Providers.Tests.Streaming;

public class SseWriterTests
{
    [Fact]
    public void WriteData_and_WriteEvent_write_complete_frames()
    {
        var output = new ArrayBufferWriter<byte>();

        SseWriter.WriteData(output, "{\"a\":1}"u8);
        SseWriter.WriteEvent(output, "ping"u8, "{\"type\":\"ping\"}"u8);
        output.Write(SseWriter.DoneFrame);

        Assert.Equal("data: {\"a\":1}\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\ndata: [DONE]\n\n", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public async Task Multi_line_payload_becomes_several_data_lines_that_read_back_joined()
    {
        var output = new ArrayBufferWriter<byte>();

        SseWriter.WriteData(output, "{\n  \"a\": 1\r\n}"u8);

        Assert.Equal("data: {\ndata:   \"a\": 1\ndata: }\n\n", Encoding.UTF8.GetString(output.WrittenSpan));
        var events = await SseTestKit.ReadAllAsync(new MemoryStream(output.WrittenSpan.ToArray()));
        Assert.Equal("{\n  \"a\": 1\n}", Assert.Single(events).Data);
    }
}
