using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Purser.Pricing;
using Purser.SimulatedProvider;
using Xunit.Abstractions;

namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// Three gateway processes on one PostgreSQL database, leases on (so every draw is served from a slice of the
/// reservation, or passes through near its end): a root reservation split into five shares on different instances,
/// each share drawn on in parallel from all three instances with far more requests than it can pay for. No share and
/// no parent is ever overdrawn (each share's spend stays within it, the rest are refused 402 reservation_exhausted),
/// another key cannot take the reserved money, and after a release on a third instance every slice goes back: nothing is
/// held, and what the ledger says was spent is exactly what the usage records say.
/// </summary>
public sealed class ReservationProcessTests : IAsyncLifetime
{
    private const int Instances = 3;
    private const int Shares = 5;
    private const int ShareWorstCases = 12;
    private const int RequestsPerShare = 40;
    private const string Planner = "sk-purser-rp-planner";
    private const string Bystander = "sk-purser-rp-bystander";
    private const string KeyBudget = "planner-daily";
    private const string TeamBudget = "team-daily";

    private readonly ITestOutputHelper _output;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "purser-rp-" + Guid.NewGuid().ToString("N"));
    private readonly List<GatewayProcess> _gateways = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private SimulatedProviderServer _simulator = null!;
    private TestPostgres? _postgres;

    public ReservationProcessTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private static long Worst => MultiInstanceLoad.WorstCaseNano;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
        _postgres = await TestPostgres.CreateOnSharedServerAsync();
    }

    [Fact]
    public async Task Five_shares_drawn_in_parallel_across_three_processes_never_exceed_their_shares_or_the_parent_and_spent_equals_the_usage_records()
    {
        // The team can pay for the reservation and two more worst cases; the reservation is the five shares and a spare.
        var rootAmount = ((Shares * ShareWorstCases) + 4) * Worst;
        var teamCap = rootAmount + (2 * Worst);
        await StartGatewaysAsync(teamCap);

        var root = await CreateAsync(0, Usd(rootAmount), null);
        var shares = new string[Shares];
        for (var s = 0; s < Shares; s++)
        {
            shares[s] = await CreateAsync(s % Instances, Usd(ShareWorstCases * Worst), root);
        }

        // Another key of the team spends only the two worst cases the reservation does not hold, then is refused.
        var bystander = new List<(int Status, string? Code, string? RequestId, long? Remaining)>();
        for (var i = 0; i < 40 && !bystander.Exists(o => o.Status == 402); i++)
        {
            bystander.Add(await ChatAsync(i % Instances, Bystander, null));
        }

        Assert.Equal(402, bystander[^1].Status);
        Assert.All(bystander.SkipLast(1), o => Assert.Equal(200, o.Status));

        // Every share drawn on from all three instances at once, more than it holds. A share starts at 12 worst cases,
        // enough for slices (a slice is at most an eighth of what remains and at least a worst case); near its end the
        // draws pass through to the ledger.
        var outcomes = new ConcurrentBag<(int Share, int Status, string? Code, string? RequestId, long? Remaining)>();
        var next = -1;
        var loops = Enumerable.Range(0, 15).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Shares * RequestsPerShare)
            {
                var share = i % Shares;
                var outcome = await ChatAsync((i / Shares) % Instances, Planner, shares[share]);
                outcomes.Add((share, outcome.Status, outcome.Code, outcome.RequestId, outcome.Remaining));
            }
        }));
        await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(120), TimeProvider.System);

        var all = outcomes.ToArray();
        Assert.All(all, o => Assert.True(o.Status == 200 || (o.Status == 402 && o.Code == "reservation_exhausted"), $"{o.Status} {o.Code}"));
        Assert.All(all.Where(o => o.Status == 200), o => Assert.True(o.Remaining is >= 0 && o.Remaining <= ShareWorstCases * Worst, $"remaining {o.Remaining}"));
        for (var s = 0; s < Shares; s++)
        {
            var mine = all.Where(o => o.Share == s).ToArray();
            // Each admitted draw costs less than its worst case, so at least half the share's worst cases are admitted
            // even while other instances' slices hold part of it (docs/design.md, "Reservations").
            Assert.True(mine.Count(o => o.Status == 200) >= ShareWorstCases / 2, $"share {s}: only {mine.Count(o => o.Status == 200)} admitted");
            Assert.Contains(mine, o => o.Status == 402);
        }

        // Release the whole tree on an instance that did not create it; the other instances' slices go back at their
        // next flush pass (one second).
        await SendAsync(2, HttpMethod.Delete, "/v1/budget/reservations/" + root, Planner, null, HttpStatusCode.OK);
        JsonNode view = null!;
        for (var i = 0; i < 200; i++)
        {
            view = await SendAsync(1, HttpMethod.Get, "/v1/budget/reservations/" + root, Planner, null, HttpStatusCode.OK);
            if (Nano(view["held_usd"]) == 0)
            {
                break;
            }

            await Poll.NextAsync(50);
        }

        Assert.Equal(0, Nano(view["held_usd"]));
        var children = view["children"]!.AsArray();
        Assert.Equal(Shares, children.Count);
        long sharesSpent = 0;
        foreach (var child in children)
        {
            var spent = Nano(child!["spent_usd"]);
            Assert.True(spent <= ShareWorstCases * Worst, $"share {child["id"]} spent {spent} of {ShareWorstCases * Worst}");
            sharesSpent += spent;
        }

        var rootSpent = Nano(view["spent_usd"]);
        Assert.Equal(sharesSpent, rootSpent);
        Assert.True(rootSpent <= rootAmount);

        await Task.WhenAll(_gateways.Select(g => g.StopAsync()));
        // Every draw, slice and lease settled (the root's own hold row stays; what it holds is on the counters, checked below).
        var open = await _postgres!.RowsAsync("SELECT hold_id, amount_nano FROM ledger_holds WHERE state = 0 AND hold_id NOT LIKE 'reservation:%'");
        Assert.True(open.Count == 0, "open holds: " + string.Join("; ", open.Select(r => string.Join(",", r))));
        var admitted = all.Where(o => o.Status == 200).Select(o => "'" + o.RequestId + "'").ToArray();
        var drawnCost = await _postgres.ScalarAsync($"SELECT COALESCE(SUM(cost_nano), 0)::bigint FROM usage_records WHERE request_id IN ({string.Join(',', admitted)})");
        Assert.Equal(drawnCost, rootSpent);
        Assert.Equal(await UsageCostAsync("key_id = 'planner'"), await SpentAsync(KeyBudget));
        Assert.Equal(await UsageCostAsync("true"), await SpentAsync(TeamBudget));
        Assert.True(await UsageCostAsync("key_id = 'bystander'") <= 2 * Worst, "the bystander spent reserved money");
        Assert.Equal(0, await _postgres.ScalarAsync("SELECT COALESCE(SUM(held_nano), 0)::bigint FROM ledger_counters"));
        var slices = await _postgres.ScalarAsync("SELECT count(*) FROM ledger_holds WHERE hold_id LIKE 'slice:%'");
        Assert.True(slices > 0, "no draw was served from a slice");
        _output.WriteLine(FormattableString.Invariant(
            $"{admitted.Length} of {all.Length} draws admitted across {Instances} processes, {slices} slices taken; spent {rootSpent} nano = the usage records"));
    }

    public async Task DisposeAsync()
    {
        foreach (var gateway in _gateways)
        {
            await gateway.DisposeAsync();
        }

        _http.Dispose();
        await _simulator.DisposeAsync();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left behind in the temp directory: harmless.
        }
    }

    private static string Usd(long nano) => Money.FromNano(nano).ToString();

    private static long Nano(JsonNode? usd) => ParseUsd(usd!.GetValue<string>());

    private static long ParseUsd(string text)
    {
        Assert.True(Money.TryParseUsd(text, out var value), $"not a USD amount: {text}");
        return value.NanoUsd;
    }

    private async Task<string> CreateAsync(int gateway, string amount, string? parent)
    {
        var body = new JsonObject { ["amount_usd"] = amount, ["ttl_seconds"] = 900 };
        if (parent is not null)
        {
            body["parent"] = parent;
        }

        var created = await SendAsync(gateway, HttpMethod.Post, "/v1/budget/reservations", Planner, body, HttpStatusCode.Created);
        return created["id"]!.GetValue<string>();
    }

    private async Task<(int Status, string? Code, string? RequestId, long? Remaining)> ChatAsync(int gateway, string secret, string? reservation)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_gateways[gateway].BaseAddress, "/v1/chat/completions"))
        {
            Content = new StringContent(MultiInstanceLoad.Body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        if (reservation is not null)
        {
            request.Headers.Add("x-budget-reservation", reservation);
        }

        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var id = response.Headers.TryGetValues("x-request-id", out var ids) ? ids.First() : null;
        long? remaining = response.Headers.TryGetValues("x-budget-reservation-remaining", out var left) ? ParseUsd(left.First()) : null;
        var code = response.IsSuccessStatusCode ? null : JsonNode.Parse(text)?["error"]?["code"]?.GetValue<string>();
        return ((int)response.StatusCode, code, id, remaining);
    }

    private async Task<JsonNode> SendAsync(int gateway, HttpMethod method, string path, string secret, JsonObject? body, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, new Uri(_gateways[gateway].BaseAddress, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    private Task<long> UsageCostAsync(string where) =>
        _postgres!.ScalarAsync($"SELECT COALESCE(SUM(cost_nano), 0)::bigint FROM usage_records WHERE {where}");

    private Task<long> SpentAsync(string budget) =>
        _postgres!.ScalarAsync($"SELECT COALESCE(SUM(spent_nano), 0)::bigint FROM ledger_counters WHERE budget_id = '{budget}'");

    private async Task StartGatewaysAsync(long teamCap)
    {
        var sim = _simulator.BaseAddress.AbsoluteUri.TrimEnd('/');
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(_postgres!.ConnectionString) { MaxPoolSize = 10, Timeout = 5 }.ConnectionString;
        var starts = new List<Task<GatewayProcess>>();
        for (var i = 0; i < Instances; i++)
        {
            var path = Path.Combine(_directory, $"purser-{i}.yaml");
            await File.WriteAllTextAsync(path, $$"""
                organization: acme
                server:
                  listen: http://127.0.0.1:0
                  upstream_timeout_seconds: 5
                storage:
                  sqlite_path: local-{{i}}.db
                  postgres: ${PURSER_RP_POSTGRES}
                  leases: true
                providers:
                  sim: { kind: openai, base_url: "{{sim}}/v1", api_key: sim }
                models:
                  sim-chat: { provider: sim, upstream: "sim-chat~out=64,latency=2", price: { input: 0.5, output: 1.5 } }
                teams:
                  swarm: {}
                keys:
                  - { id: planner, team: swarm, secret: {{Planner}} }
                  - { id: bystander, team: swarm, secret: {{Bystander}} }
                budgets:
                  - { id: {{TeamBudget}}, scope: "team:swarm", window: daily, cap_usd: {{Usd(teamCap)}} }
                  - { id: {{KeyBudget}}, scope: "key:planner", window: daily, cap_usd: {{Usd(teamCap)}} }
                """);
            starts.Add(GatewayProcess.StartAsync(path, new Dictionary<string, string> { ["PURSER_RP_POSTGRES"] = connection }));
        }

        _gateways.AddRange(await Task.WhenAll(starts));
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worst case {Worst} nano"));
    }
}
