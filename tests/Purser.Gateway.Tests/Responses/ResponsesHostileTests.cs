using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Purser.Gateway.Tests.Pipeline;

namespace Purser.Gateway.Tests.Responses;

/// <summary>
/// Hostile Responses API bodies — wrong types, huge or negative <c>max_output_tokens</c>, duplicate names, broken
/// images, unknown and built-in tools, truncated JSON, unknown previous responses — are each a 4xx in OpenAI's error
/// shape with nothing held or charged; mixed with ordinary calls to misbehaving providers, every batch keeps the
/// pipeline's invariants: one usage record per request, nothing held at the end, spent = Σ records ≤ cap.
/// </summary>
[Collection(MeteringCollection.Name)]
public sealed class ResponsesHostileTests
{
    // "failover" is served on /v1/responses by its first target, sim-garbage (routes do not fail over there yet).
    private static readonly HashSet<string> Misbehaving = new(StringComparer.Ordinal) { "sim-cut", "sim-badsse", "sim-garbage", "sim-500", "sim-429", "sim-huge", "sim-nousage", "sim-cutbody", "o3-cut", "failover" };

    private readonly MeteringFixture _fixture;

    public ResponsesHostileTests(MeteringFixture fixture) => _fixture = fixture;

    private enum Hostility
    {
        None,
        ModelNumber,
        InputNumber,
        InputItemNotObject,
        StreamString,
        MaxOutputString,
        MaxOutputNegative,
        MaxOutputOverflow,
        MaxOutputHuge,
        DuplicateName,
        ImageWithoutUrl,
        ImageUrlNumber,
        ImageBadData,
        BuiltInTool,
        ToolTypeNumber,
        ToolsNotArray,
        Truncated,
        LoneSurrogate,
        UnknownPrevious,
        BackgroundWithoutStore,
        PartNotObject,
    }

    private sealed record Spec(string Model, bool Stream, int MaxOutput, Hostility Hostility)
    {
        public override string ToString() => $"{Model} stream={Stream} max={MaxOutput} {Hostility}";
    }

    private static readonly Gen<Hostility> AnyHostility = Gen.OneOf<Hostility>([.. Enum.GetValues<Hostility>().Where(h => h != Hostility.None)]);

    private static readonly Gen<Spec> HostileGen =
        from model in Gen.OneOf<string>("sim-ok", "sim-reason", "sim-slow")
        from stream in Gen.Bool
        from max in Gen.Int[16, 400]
        from hostility in AnyHostility
        select new Spec(model, stream, max, hostility);

    private static readonly Gen<Spec> MixedGen =
        from model in Gen.OneOf<string>("sim-ok", "sim-reason", "sim-slow", "sim-cut", "sim-badsse", "sim-garbage", "sim-500", "sim-429", "sim-huge", "sim-nousage", "sim-cutbody", "o3-cut", "claude-ok", "chatonly-ok", "failover", "responses-route", "no-such-model")
        from stream in Gen.Bool
        from max in Gen.Int[16, 400]
        from hostility in Gen.Frequency<Hostility>((6, Gen.Const(Hostility.None)), (4, AnyHostility))
        select new Spec(model, stream, max, hostility);

    [Fact]
    public async Task Every_hostile_body_is_a_4xx_in_openai_shape_with_nothing_held_or_charged()
    {
        await HostileGen.Array[4, 10].SampleAsync(async batch =>
        {
            var (id, secret) = await _fixture.KeyWithCapAsync("0.05");
            var outcomes = await Task.WhenAll(batch.Select(spec => SendAsync(secret, spec)));
            foreach (var (spec, status, body) in outcomes)
            {
                Assert.True(status is >= 400 and < 500, $"{status} for {spec}: {body}");
                var error = JsonNode.Parse(body)!["error"];
                Assert.False(string.IsNullOrEmpty(error?["message"]?.GetValue<string>()), $"no error message for {spec}: {body}");
            }

            var records = await _fixture.SettledAsync(id, batch.Length);
            Assert.Equal(batch.Length, records.Count);
            Assert.All(records, r => Assert.Equal(0, r.Cost.NanoUsd));
            var (_, spent, held) = await _fixture.BudgetAsync(id);
            Assert.Equal(0, spent);
            Assert.Equal(0, held);
        }, iter: 8, threads: 1, time: 20);
    }

    [Fact]
    public async Task Mixed_batches_against_misbehaving_providers_keep_every_invariant()
    {
        await MixedGen.Array[6, 12].SampleAsync(async batch =>
        {
            var (id, secret) = await _fixture.KeyWithCapAsync("0.01");
            var entered = _fixture.Entered;
            var outcomes = await Task.WhenAll(batch.Select(spec => SendAsync(secret, spec)));
            foreach (var (spec, status, body) in outcomes)
            {
                Assert.DoesNotContain("internal_error", body, StringComparison.Ordinal);
                Assert.False(string.IsNullOrEmpty(body), $"empty {status} body for {spec}");
                if (status >= 500 || status == 429)
                {
                    Assert.True(Misbehaving.Contains(spec.Model), $"{status} for {spec} although its provider behaved: {body}");
                }
            }

            var records = await _fixture.SettledAsync(id, batch.Length);
            Assert.Equal(_fixture.Entered - entered, records.Count);
            Assert.Equal(batch.Length, records.Count);
            Assert.Equal(records.Count, records.Select(r => r.RequestId).Distinct().Count());
            var (cap, spent, held) = await _fixture.BudgetAsync(id);
            Assert.Equal(0, held);
            Assert.Equal(records.Sum(r => r.Cost.NanoUsd), spent);
            Assert.True(spent <= cap, $"spent {spent} over cap {cap}");
        }, iter: 6, threads: 1, time: 20);
    }

    private async Task<(Spec Spec, int Status, string Body)> SendAsync(string secret, Spec spec)
    {
        using var request = MeteringFixture.Raw(secret, Encoding.UTF8.GetBytes(BodyOf(spec)), "/v1/responses");
        using var response = await _fixture.Http.SendAsync(request);
        return (spec, (int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string BodyOf(Spec spec)
    {
        var max = spec.Hostility switch
        {
            Hostility.MaxOutputString => "\"many\"",
            Hostility.MaxOutputNegative => "-5",
            Hostility.MaxOutputOverflow => "99999999999999999999",
            Hostility.MaxOutputHuge => "2000000000",
            _ => spec.MaxOutput.ToString(CultureInfo.InvariantCulture),
        };
        var model = spec.Hostility == Hostility.ModelNumber ? "42" : $"\"{spec.Model}\"";
        var stream = spec.Hostility == Hostility.StreamString ? "\"yes\"" : spec.Stream ? "true" : "false";
        var text = spec.Hostility == Hostility.LoneSurrogate ? "hi \\ud800 there" : "hello there";
        var part = spec.Hostility switch
        {
            Hostility.ImageWithoutUrl => "{\"type\":\"input_image\",\"detail\":\"high\"}",
            Hostility.ImageUrlNumber => "{\"type\":\"input_image\",\"image_url\":42}",
            Hostility.ImageBadData => "{\"type\":\"input_image\",\"image_url\":\"data:image/png;base64,!!!!not-an-image\"}",
            Hostility.PartNotObject => "\"just a string\"",
            _ => "{\"type\":\"input_text\",\"text\":\"more\"}",
        };
        var input = spec.Hostility switch
        {
            Hostility.InputNumber => "42",
            Hostility.InputItemNotObject => "[1,2]",
            _ => $$"""[{"role":"user","content":[{"type":"input_text","text":"{{text}}"},{{part}}]}]""",
        };
        var extra = spec.Hostility switch
        {
            Hostility.DuplicateName => ",\"model\":\"sim-ok\"",
            Hostility.BuiltInTool => ",\"tools\":[{\"type\":\"web_search\"}]",
            Hostility.ToolTypeNumber => ",\"tools\":[{\"type\":7,\"name\":\"f\"}]",
            Hostility.ToolsNotArray => ",\"tools\":\"all of them\"",
            Hostility.UnknownPrevious => ",\"previous_response_id\":\"resp_not_yours\"",
            Hostility.BackgroundWithoutStore => ",\"background\":true,\"store\":false",
            _ => "",
        };
        var json = $$"""{"model":{{model}},"max_output_tokens":{{max}},"stream":{{stream}},"input":{{input}}{{extra}}}""";
        return spec.Hostility == Hostility.Truncated ? json[..(json.Length / 2)] : json;
    }
}
