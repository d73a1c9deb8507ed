using System.Globalization;
using System.Net;
using System.Text;
using CsCheck;

namespace Purser.Gateway.Tests.Pipeline;

/// <summary>
/// The pipeline's invariants under generated hostile and ordinary requests, with the simulated provider misbehaving
/// at random (cuts, garbage SSE, 5xx, 429, lies about usage, latency) and callers that hang up at random points. After
/// every batch: no 5xx the upstream did not cause and no empty error body; exactly one usage record per authenticated
/// request; nothing held once requests end; spent = Σ usage records exactly; reserve-mode spent ≤ cap.
/// </summary>
[Collection(MeteringCollection.Name)]
public sealed class PipelineInvariantTests
{
    /// <summary>Models whose provider misbehaves: a 5xx (or 429) for them is the upstream's doing.</summary>
    private static readonly HashSet<string> Misbehaving = new(StringComparer.Ordinal)
    {
        "sim-cut", "sim-badsse", "sim-garbage", "sim-500", "sim-429", "sim-huge", "sim-nousage", "sim-jsonstream", "sim-cutbody", "claude-cut", "failover", "panel-with-liar",
    };

    private readonly MeteringFixture _fixture;

    public PipelineInvariantTests(MeteringFixture fixture) => _fixture = fixture;

    private enum Mutation
    {
        None,
        DuplicateKey,
        LoneSurrogate,
        InvalidUtf8,
        HugeMaxTokens,
        WrongType,
        Truncated,
        DuplicateStreamOptions,
    }

    private enum HangUp
    {
        Never,
        Early,
        Late,
    }

    private sealed record Spec(string Model, bool Anthropic, bool Stream, int MaxTokens, Mutation Mutation, HangUp HangUp, string? HostileHeader)
    {
        public override string ToString() => $"{Model} {(Anthropic ? "messages" : "chat")} stream={Stream} max={MaxTokens} {Mutation} {HangUp} {HostileHeader}";
    }

    private static readonly Gen<Spec> SpecGen =
        from model in Gen.OneOf<string>([.. MeteringFixture.OpenAiModels, .. MeteringFixture.AnthropicModels, "failover", "claude-route", "panel-with-liar", "no-such-model"])
        from anthropic in Gen.Bool
        from stream in Gen.Bool
        from maxTokens in Gen.Int[1, 400]
        from mutation in Gen.Frequency<Mutation>((12, Mutation.None), (1, Mutation.DuplicateKey), (1, Mutation.LoneSurrogate), (1, Mutation.InvalidUtf8), (1, Mutation.HugeMaxTokens), (1, Mutation.WrongType), (1, Mutation.Truncated), (1, Mutation.DuplicateStreamOptions))
        from hangUp in Gen.Frequency<HangUp>((5, HangUp.Never), (1, HangUp.Early), (1, HangUp.Late))
        from header in Gen.Frequency<string>((16, ""), (1, "x-budget-hint:79300000000000000000"), (1, "x-budget-hint:abc"), (1, "anthropic-version:2023\u00e9"), (1, "x-budget-hint:0.000001"),
            (1, "x-budget-scope:swarm-1|x-budget-ceiling:0.001"), (1, "x-budget-scope:swarm-1|x-budget-ceiling:0.002"),
            (1, "x-budget-scope:" + new string('t', 200)), (1, "x-budget-ceiling:5"), (1, "x-budget-hint:1|x-budget-hint:2"),
            (1, "anthropic-version:2023-06-01|anthropic-version:2023-06-01"))
        select new Spec(model, anthropic, stream, maxTokens, mutation, hangUp, header.Length == 0 ? null : header);

    private static readonly Gen<(Spec[] Batch, int CapMicroUsd)> BatchGen =
        from batch in SpecGen.Array[6, 14]
        from cap in Gen.Int[300, 20_000]
        select (batch, cap);

    [Fact]
    public async Task Hostile_batches_against_a_misbehaving_provider_keep_every_invariant()
    {
        await BatchGen.SampleAsync(async sample =>
        {
            var (batch, capMicro) = sample;
            var capUsd = (capMicro / 1_000_000m).ToString(CultureInfo.InvariantCulture);
            var (id, secret) = await _fixture.KeyWithCapAsync(capUsd);
            var entered = _fixture.Entered;
            var outcomes = await Task.WhenAll(batch.Select(spec => SendAsync(secret, spec)));

            foreach (var (spec, status, body, _) in outcomes)
            {
                if (status is null)
                {
                    continue; // the caller hung up
                }

                Assert.DoesNotContain("internal_error", body, StringComparison.Ordinal);
                if (status >= 500 || status == 429)
                {
                    Assert.True(Misbehaving.Contains(spec.Model), $"{status} for {spec} although its provider behaved: {body}");
                }

                if (status >= 400)
                {
                    Assert.False(string.IsNullOrEmpty(body), $"empty {status} body for {spec}");
                }
            }

            // Exactly one record per request that reached the pipeline (a caller that hung up early may not have), and
            // one for every request whose answer the client saw.
            var records = await _fixture.QuiescentAsync(id);
            Assert.Equal(_fixture.Entered - entered, records.Count);
            Assert.Equal(records.Count, records.Select(r => r.RequestId).Distinct().Count());
            var answered = outcomes.Where(o => o.RequestId is not null).Select(o => o.RequestId!).ToList();
            Assert.True(answered.Count <= records.Count);
            foreach (var requestId in answered)
            {
                Assert.Single(records, r => r.RequestId == requestId);
            }

            var (cap, spent, held) = await _fixture.BudgetAsync(id);
            Assert.Equal(0, held);
            Assert.Equal(records.Sum(r => r.Cost.NanoUsd), spent);
            Assert.True(spent <= cap, $"spent {spent} over cap {cap}");
        }, iter: 10, threads: 1, time: 30);
    }

    private async Task<(Spec Spec, int? Status, string Body, string? RequestId)> SendAsync(string secret, Spec spec)
    {
        var path = spec.Anthropic ? "/v1/messages" : "/v1/chat/completions";
        var body = Encoding.UTF8.GetBytes(BodyOf(spec));
        if (spec.Mutation == Mutation.InvalidUtf8)
        {
            var at = Array.IndexOf(body, (byte)'Z');
            body[at] = 0xC3;
            body[at + 1] = 0x28;
        }

        using var request = MeteringFixture.Raw(secret, body, path);
        using var handler = new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8 };
        using var client = new HttpClient(handler) { BaseAddress = _fixture.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (spec.HostileHeader is { } headers)
        {
            // One or more headers, '|'-separated; a name given twice is sent twice.
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var header in headers.Split('|'))
            {
                var colon = header.IndexOf(':', StringComparison.Ordinal);
                if (names.Add(header[..colon]))
                {
                    request.Headers.Remove(header[..colon]);
                }

                request.Headers.TryAddWithoutValidation(header[..colon], header[(colon + 1)..]);
            }
        }

        using var hangUp = spec.HangUp switch
        {
            HangUp.Early => new CancellationTokenSource(TimeSpan.FromMilliseconds(40), TimeProvider.System),
            HangUp.Late => new CancellationTokenSource(TimeSpan.FromMilliseconds(350), TimeProvider.System),
            _ => new CancellationTokenSource(),
        };
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, hangUp.Token);
            var text = await response.Content.ReadAsStringAsync(hangUp.Token);
            var requestId = response.Headers.TryGetValues("x-request-id", out var ids) ? ids.First() : null;
            return (spec, (int)response.StatusCode, text, requestId);
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
        {
            Assert.True(spec.HangUp != HangUp.Never, $"{spec} failed on the client: {ex.Message}");
            return (spec, null, "", null);
        }
    }

    private static string BodyOf(Spec spec)
    {
        var content = spec.Mutation switch
        {
            Mutation.LoneSurrogate => "hi \\ud800 there",
            _ => "Zz hello",
        };
        var maxTokens = spec.Mutation switch
        {
            Mutation.HugeMaxTokens => "99999999999999999999",
            Mutation.WrongType => "\"many\"",
            _ => spec.MaxTokens.ToString(CultureInfo.InvariantCulture),
        };
        var extra = spec.Mutation switch
        {
            Mutation.DuplicateKey => ",\"temperature\":1,\"temperature\":0",
            Mutation.DuplicateStreamOptions => ",\"stream_options\":{\"include_usage\":true},\"stream_options\":{}",
            _ => "",
        };
        var json = $$"""{"model":"{{spec.Model}}","max_tokens":{{maxTokens}},"stream":{{(spec.Stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{content}}"}]{{extra}}}""";
        return spec.Mutation == Mutation.Truncated ? json[..(json.Length / 2)] : json;
    }
}
