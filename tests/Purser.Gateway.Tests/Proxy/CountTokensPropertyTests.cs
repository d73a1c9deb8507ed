using System.Text;
using System.Text.Json;
using CsCheck;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Proxy;

/// <summary>Hostile <c>/v1/messages/count_tokens</c> bodies: a 200 or a 4xx in Anthropic's shape, never a 500 or an empty body, never a charge.</summary>
[Collection(GatewayCollection.Name)]
public sealed class CountTokensPropertyTests
{
    private readonly GatewayFixture _fixture;

    public CountTokensPropertyTests(GatewayFixture fixture) => _fixture = fixture;

    private static readonly Gen<string> Scalar = Gen.OneOf(
        Gen.Const("null"), Gen.Const("true"), Gen.Const("-1"), Gen.Const("1e400"), Gen.Const("0"), Gen.Const("{}"), Gen.Const("[]"),
        Gen.String[Gen.Char["ab \"\\\u00e9\u6f22\ud83d\ude00<>"], 0, 12].Select(s => JsonSerializer.Serialize(s)));

    private static readonly Gen<string> Block = Gen.OneOf(
        Gen.Const("""{"type":"text","text":"hello"}"""),
        Scalar.Select(s => $$"""{"type":"text","text":{{s}}}"""),
        Scalar.Select(s => $$"""{"type":{{s}}}"""),
        Gen.Const("""{"type":"image","source":{"type":"base64","media_type":"image/png","data":"!!notbase64"}}"""),
        Gen.Const("""{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}"""),
        Gen.Const("""{"type":"tool_use","id":"t","name":"f","input":{"a":1}}"""),
        Scalar.Select(s => $$"""{"type":"tool_result","tool_use_id":"t","content":{{s}}}"""),
        Gen.Const("""{"type":"document","source":{"type":"text","media_type":"text/plain","data":"doc"}}"""),
        Gen.Const("""{"type":"thinking","thinking":"hm","signature":"x"}"""),
        Scalar);

    private static readonly Gen<string> Content = Gen.OneOf(Scalar, Block.Array[0, 3].Select(b => "[" + string.Join(',', b) + "]"));

    private static readonly Gen<string> Message = Gen.Select(
        Gen.OneOf(Gen.Const("\"user\""), Gen.Const("\"assistant\""), Gen.Const("\"system\""), Gen.Const("\"tool\""), Scalar),
        Content,
        (role, content) => $$"""{"role":{{role}},"content":{{content}}}""");

    private static readonly Gen<string> Model = Gen.OneOf(
        Gen.Const("\"claude-sim\""), Gen.Const("\"sim-chat\""), Gen.Const("\"sim-embed\""), Gen.Const("\"no-such\""), Gen.Const("\"claude-429\""), Scalar);

    private static readonly Gen<string> Body = Gen.Frequency(
        (6, Gen.Select(Model, Message.Array[0, 4], Gen.OneOf(Gen.Const(""), Scalar.Select(s => ",\"system\":" + s), Scalar.Select(s => ",\"tools\":" + s),
                Gen.Const(""",\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}]"""), Scalar.Select(s => ",\"max_tokens\":" + s)),
            (model, messages, extra) => $$"""{"model":{{model}},"messages":[{{string.Join(',', messages)}}]{{extra}}}""")),
        (1, Gen.OneOf(Gen.Const("{"), Gen.Const("[]"), Gen.Const(""), Gen.Const("{\"model\":\"sim-chat\",\"model\":\"x\",\"messages\":[]}"),
            Gen.Const("{\"model\":\"sim-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}"), Scalar)));

    [Fact]
    public async Task Hostile_bodies_are_answered_in_anthropics_shape_and_never_charged()
    {
        await Body.SampleAsync(async body =>
        {
            using var request = Requests.CountTokens(body);
            using var response = await _fixture.Http.SendAsync(request);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(status is 200 or (>= 400 and < 500), $"{status} for {body}: {text}");
            Assert.False(string.IsNullOrEmpty(text), $"empty {status} body for {body}");
            using var json = JsonDocument.Parse(text);
            if (status == 200)
            {
                Assert.True(json.RootElement.GetProperty("input_tokens").GetInt64() >= 0);
            }
            else
            {
                Assert.Equal("error", json.RootElement.GetProperty("type").GetString());
                Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("error").GetProperty("message").GetString()));
            }

            var record = await _fixture.UsageOfAsync(response.Headers.GetValues("x-request-id").Single());
            Assert.Equal(0, record.Cost.NanoUsd);
            Assert.Equal("count_tokens", record.Operation);
        }, iter: 120, threads: 1);
    }
}
