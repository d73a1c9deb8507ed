using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Sdk;

/// <summary>
/// The README's runtime loop with the official OpenAI .NET SDK: reserve, split, call with <c>x-budget-reservation</c>
/// sent as a default header by a pipeline policy, read <c>x-budget-reservation-remaining</c>, release.
/// </summary>
public sealed class ReservationSdkTests : IClassFixture<BudgetFixture>
{
    private readonly BudgetFixture _fixture;

    public ReservationSdkTests(BudgetFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task A_sub_agent_calls_through_the_sdk_on_its_share_and_the_runtime_gets_back_the_rest()
    {
        var secret = await _fixture.CreateKeyAsync("sdk-runtime", "wide-team");
        await _fixture.PutBudgetAsync("sdk-team-daily", new System.Text.Json.Nodes.JsonObject
        {
            ["scope"] = "team:wide-team", ["window"] = "daily", ["timezone"] = "UTC", ["mode"] = "reserve", ["cap_usd"] = "5",
        });
        var task = await PostAsync(secret, """{"amount_usd":"0.50","label":"task"}""");
        var share = await PostAsync(secret, $$"""{"amount_usd":"0.10","parent":"{{task}}","label":"sub-agent"}""");

        var options = new OpenAIClientOptions { Endpoint = new Uri(_fixture.Gateway.BaseAddress, "v1/"), RetryPolicy = new ClientRetryPolicy(0) };
        options.AddPolicy(new DefaultHeader("x-budget-reservation", share), PipelinePosition.PerCall);
        var chat = new ChatClient("sim-chat", new ApiKeyCredential(secret), options);

        var result = await chat.CompleteChatAsync([new UserChatMessage("step 1 of the plan")], new ChatCompletionOptions { MaxOutputTokenCount = 64 });
        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-budget-reservation-remaining", out var remaining));
        Assert.True(BudgetFixture.Nano(remaining!) < 100_000_000);

        var spent = (await _fixture.UsageOfKeyAsync("sdk-runtime")).Sum(r => r.Cost.NanoUsd);
        using var request = new HttpRequestMessage(HttpMethod.Delete, "/v1/budget/reservations/" + task);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var released = await _fixture.Http.SendAsync(request);
        var json = await BudgetFixture.ReadJsonAsync(released);
        Assert.Equal(HttpStatusCode.OK, released.StatusCode);
        Assert.Equal(100_000_000 - spent, BudgetFixture.Nano(json["released"]![0]!["returned_usd"]!.GetValue<string>()));
        Assert.Equal(500_000_000 - spent, BudgetFixture.Nano(json["released"]![1]!["returned_usd"]!.GetValue<string>())); // the share's rest came back to the task first
        var (teamSpent, teamHeld, _) = await _fixture.BudgetStateAsync("sdk-team-daily");
        Assert.Equal((spent, 0L), (teamSpent, teamHeld));
    }

    private async Task<string> PostAsync(string secret, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/budget/reservations") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await _fixture.Http.SendAsync(request);
        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.Created, json.ToJsonString());
        return json["id"]!.GetValue<string>();
    }

    /// <summary>Sets one header on every request the SDK sends: how a runtime hands a sub-agent its reservation.</summary>
    private sealed class DefaultHeader(string name, string value) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Set(name, value);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Set(name, value);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }
    }
}
