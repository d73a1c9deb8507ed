using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// <c>/v1/embeddings</c> is held at the one worst-case function's bound of its text (issue 13): its bytes plus the
/// margin, never capped at the model's window (which limits each input, not an array of them).
/// </summary>
[Collection(BudgetCollection.Name)]
public sealed class EmbeddingsHoldTests
{
    /// <summary>sim-embed in the budget fixture: $0.50 per million input tokens.</summary>
    private const long NanoPerToken = 500;

    private readonly BudgetFixture _fixture;

    public EmbeddingsHoldTests(BudgetFixture fixture) => _fixture = fixture;

    private static JsonObject Budget(string scope, long capNano) =>
        new() { ["scope"] = scope, ["window"] = "daily", ["timezone"] = "UTC", ["mode"] = "reserve", ["cap_usd"] = BudgetFixture.Usd(capNano) };

    [Fact]
    public async Task An_embedding_is_held_at_its_bytes_plus_the_margin()
    {
        var secret = await _fixture.CreateKeyAsync("embed-hold");
        var body = """{"model":"sim-embed","input":"the quick brown fox jumps over the lazy dog"}""";
        var bound = (Encoding.UTF8.GetByteCount(body) + Pricing.WorstCases.Margin) * NanoPerToken;
        await _fixture.PutBudgetAsync("embed-hold-daily", Budget("key:embed-hold", bound - 1));

        using (var refused = await _fixture.Http.SendAsync(_fixture.Embeddings(secret, body)))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
            Assert.Equal("daily_cap_exceeded", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["code"]!.GetValue<string>());
        }

        Assert.Equal((0L, 0L), await SpentAndHeldAsync("embed-hold-daily"));

        await _fixture.PutBudgetAsync("embed-hold-daily", Budget("key:embed-hold", bound));
        using var served = await _fixture.Http.SendAsync(_fixture.Embeddings(secret, body));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        var (spent, held) = await SpentAndHeldAsync("embed-hold-daily");
        Assert.Equal(0, held);
        Assert.InRange(spent, 1, bound);
    }

    [Fact]
    public async Task An_array_of_inputs_is_not_capped_at_one_window()
    {
        // Ten inputs of 4,000 bytes: 10,000 billed tokens, above sim-embed's 8,191-token window (a per-input limit).
        var inputs = new JsonArray();
        for (var i = 0; i < 10; i++)
        {
            inputs.Add(new string((char)('a' + i), 4000));
        }

        var body = new JsonObject { ["model"] = "sim-embed", ["input"] = inputs }.ToJsonString();
        var secret = await _fixture.CreateKeyAsync("embed-array");
        await _fixture.PutBudgetAsync("embed-array-daily", Budget("key:embed-array", 8_191 * NanoPerToken * 2));

        using (var refused = await _fixture.Http.SendAsync(_fixture.Embeddings(secret, body)))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        }

        var bound = (Encoding.UTF8.GetByteCount(body) + Pricing.WorstCases.Margin) * NanoPerToken;
        await _fixture.PutBudgetAsync("embed-array-daily", Budget("key:embed-array", bound));
        using var served = await _fixture.Http.SendAsync(_fixture.Embeddings(secret, body));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        var (spent, held) = await SpentAndHeldAsync("embed-array-daily");
        Assert.Equal(0, held);
        Assert.InRange(spent, 10_000 * NanoPerToken, bound);
    }

    private async Task<(long Spent, long Held)> SpentAndHeldAsync(string id)
    {
        var (spent, held, _) = await _fixture.BudgetStateAsync(id);
        return (spent, held);
    }
}
