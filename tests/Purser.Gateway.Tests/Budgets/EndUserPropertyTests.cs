using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Keys;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// Generated mixes of requests with hostile <c>x-budget-user</c> and <c>x-budget-tags</c> values (too long, unsafe
/// characters, empty, repeated, too many tags) against a key with an end-user, a tag and a global budget. After every
/// mix: a malformed or repeated header was a 400 naming it; nothing is held; every reserve-mode counter is within its
/// cap; the global budget's spent is the sum of all usage records, each end user's counter the sum of theirs, and the
/// tag budget's the sum of the records carrying the tag; the user:* budget counts at most the configured end users.
/// </summary>
public sealed class EndUserPropertyTests : IAsyncLifetime
{
    private const string Secret = "sk-purser-property-end-users";

    private static readonly long Worst = BudgetFixture.WorstCaseNano(BudgetFixture.ChatBody(100), 100);

    private static readonly Gen<string> Hostile = Gen.OneOf(
        Gen.OneOf(Gen.Const("alice"), Gen.Const("bob"), Gen.Const("carol@example.com"), Gen.Const("dave+1"), Gen.Const("erin")),
        Gen.String[0, 40].Select(s => new string([.. s.Where(c => c >= ' ' && c != '\u007f')])),
        Gen.Const(new string('u', 129)),
        Gen.OneOf(Gen.Const("a b"), Gen.Const("x;y"), Gen.Const("é"), Gen.Const("a/b"), Gen.Const("*"), Gen.Const("%_")));

    private static readonly Gen<string> Tags = Gen.OneOf(
        Gen.OneOf(Gen.Const("batch"), Gen.Const("batch,nightly"), Gen.Const("nightly, batch , batch"), Gen.Const("other")),
        Gen.Const("a,,b"),
        Gen.Const(string.Join(',', Enumerable.Range(0, 9).Select(i => "t" + i))),
        Gen.Const(new string('t', 65)),
        Gen.Const("bad tag"));

    private static readonly Gen<Spec> Specs =
        from user in Gen.Frequency((3, Hostile.Select(u => (string?)u)), (1, Gen.Const((string?)null)))
        from repeatUser in Gen.Frequency((9, Gen.Const(false)), (1, Gen.Const(true)))
        from tags in Gen.Frequency((2, Tags.Select(t => (string?)t)), (1, Gen.Const((string?)null)))
        from repeatTags in Gen.Frequency((9, Gen.Const(false)), (1, Gen.Const(true)))
        from model in Gen.OneOf(Gen.Const("sim-chat"), Gen.Const("sim-mini"))
        from maxTokens in Gen.Int[1, 300]
        select new Spec(Sent(user), repeatUser, tags, repeatTags, model, maxTokens);

    private readonly BudgetFixture _fixture = new(
        new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero),
        extraYaml: $$"""
            keys:
              - { id: prop, hash: "{{KeyHasher.Hash(Secret)}}", trust_end_user: true, trust_tags: true }
            budgets:
              - { id: prop-users, scope: "user:*", under: "key:prop", cap_usd: {{BudgetFixture.Usd(3 * Worst)}} }
              - { id: prop-batch, scope: "tag:batch", cap_usd: {{BudgetFixture.Usd(6 * Worst)}} }
              - { id: prop-global, scope: global, cap_usd: 1000 }
            """);

    /// <summary>HTTP trims a header value's surrounding whitespace and an empty one is not sent: generate what arrives.</summary>
    private static string? Sent(string? value) => value?.Trim(' ', '\t') is { Length: > 0 } trimmed ? trimmed : null;

    private sealed record Spec(string? User, bool RepeatUser, string? Tags, bool RepeatTags, string Model, int MaxTokens);

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task Hostile_end_user_and_tag_headers_keep_every_invariant()
    {
        using var handler = new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8 };
        using var client = new HttpClient(handler) { BaseAddress = _fixture.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        await Specs.Array[4, 10].SampleAsync(async batch =>
        {
            foreach (var spec in batch)
            {
                using var request = _fixture.Chat(Secret, BudgetFixture.ChatBody(spec.MaxTokens, spec.Model));
                Add(request, "x-budget-user", spec.User, spec.RepeatUser);
                Add(request, "x-budget-tags", spec.Tags, spec.RepeatTags);
                using var response = await client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                Assert.False(string.IsNullOrEmpty(body), $"empty {response.StatusCode} body");
                var status = (int)response.StatusCode;
                Assert.True(status is 200 or 400 or 402 or 403, $"{status} for {spec}: {body}");
                var error = status == 200 ? null : JsonNode.Parse(body)!["error"]!;
                if (ExpectBadHeader(spec) is { } header)
                {
                    Assert.True(status == 400, $"{status} for {spec}: {body}");
                    Assert.Equal(header, error!["param"]!.GetValue<string>());
                }
                else if (status == 400)
                {
                    Assert.Fail($"400 for a well-formed request {spec}: {body}");
                }
            }

            await CheckLedgerAsync();
        }, iter: 12, threads: 1, time: 15);
    }

    private async Task CheckLedgerAsync()
    {
        var records = await _fixture.UsageOfKeyAsync("prop");
        var (globalSpent, globalHeld, _) = await _fixture.BudgetStateAsync("prop-global");
        Assert.Equal(0, globalHeld);
        Assert.Equal(records.Sum(r => r.Cost.NanoUsd), globalSpent);

        var (batchSpent, batchHeld, _) = await _fixture.BudgetStateAsync("prop-batch");
        Assert.Equal(0, batchHeld);
        Assert.True(batchSpent <= 6 * Worst);
        Assert.Equal(records.Where(r => r.Tags is { } t && t.Split(',').Contains("batch")).Sum(r => r.Cost.NanoUsd), batchSpent);

        using var response = await _fixture.SendAdminAsync(HttpMethod.Get, "/admin/budgets/prop-users/users");
        var users = (await BudgetFixture.ReadJsonAsync(response))["data"]!.AsArray();
        Assert.True(users.Count <= BudgetFixture.MaxEndUsersPerBudget);
        foreach (var user in users)
        {
            var name = user!["end_user"]!.GetValue<string>();
            var spent = BudgetFixture.Nano(user["spent"]!.GetValue<string>());
            Assert.Equal("0", user["held"]!.GetValue<string>());
            Assert.True(spent <= 3 * Worst, $"{name} spent {spent} over the cap");
            Assert.Equal(records.Where(r => r.EndUser == name).Sum(r => r.Cost.NanoUsd), spent);
        }

        // A record that names an end user the budget does not count was refused before it could spend.
        var counted = users.Select(u => u!["end_user"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        Assert.All(records.Where(r => r.EndUser is { } u && !counted.Contains(u)), r => Assert.Equal(0, r.Cost.NanoUsd));
    }

    /// <summary>The header a request must be refused for, checked in the order the gateway reads them; null when both are well formed.</summary>
    private static string? ExpectBadHeader(Spec spec)
    {
        if (spec.User is { } user && (spec.RepeatUser || !ValidUser(user)))
        {
            return "x-budget-user";
        }

        // HttpClient sends a header added twice as one line, its values joined by ", ": the gateway sees one list.
        return spec.Tags is { } tags && !ValidTags(spec.RepeatTags ? tags + ", " + tags : tags) ? "x-budget-tags" : null;
    }

    private static bool ValidUser(string user) =>
        user.Length is >= 1 and <= 128 && user.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or '@' or '+');

    private static bool ValidTags(string tags)
    {
        var parts = tags.Split(',').Select(t => t.Trim(' ')).ToList();
        return parts.All(t => t.Length is >= 1 and <= 64 && t.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':'))
            && parts.Distinct(StringComparer.Ordinal).Count() <= 8;
    }

    private static void Add(HttpRequestMessage request, string name, string? value, bool twice)
    {
        if (value is null)
        {
            return;
        }

        request.Headers.TryAddWithoutValidation(name, value);
        if (twice)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
    }
}
