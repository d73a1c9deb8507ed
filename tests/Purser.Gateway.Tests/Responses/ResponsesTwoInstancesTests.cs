using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.MultiInstance;

namespace Purser.Gateway.Tests.Responses;

/// <summary>
/// The response id → provider memory is shared: a response created through instance A is retrieved, listed and
/// deleted through instance B (two gateway processes on one PostgreSQL database), and stays out of reach of another key.
/// </summary>
public sealed class ResponsesTwoInstancesTests : IAsyncLifetime
{
    private TwoGateways _gateways = null!;

    public async Task InitializeAsync() => _gateways = await TwoGateways.StartAsync();

    public async Task DisposeAsync() => await _gateways.DisposeAsync();

    [Fact]
    public async Task A_response_created_through_A_is_retrieved_listed_and_deleted_through_B_for_its_key_only()
    {
        var secret = await CreateKeyAsync("responder");
        var stranger = await CreateKeyAsync("stranger");
        await WaitUntilServedAsync(_gateways.B, secret);
        await WaitUntilServedAsync(_gateways.B, stranger);

        var (created, createdBody) = await SendAsync(_gateways.A, HttpMethod.Post, "/v1/responses", secret, """{"model":"sim-chat","input":"remember me"}""");
        Assert.Equal(HttpStatusCode.OK, created);
        var id = JsonNode.Parse(createdBody)!["id"]!.GetValue<string>();

        var (got, gotBody) = await SendAsync(_gateways.B, HttpMethod.Get, "/v1/responses/" + id, secret);
        Assert.Equal(HttpStatusCode.OK, got);
        Assert.Equal(id, JsonNode.Parse(gotBody)!["id"]!.GetValue<string>());
        var (items, itemsBody) = await SendAsync(_gateways.B, HttpMethod.Get, "/v1/responses/" + id + "/input_items", secret);
        Assert.Equal(HttpStatusCode.OK, items);
        Assert.Single(JsonNode.Parse(itemsBody)!["data"]!.AsArray());

        var (refused, refusedBody) = await SendAsync(_gateways.B, HttpMethod.Get, "/v1/responses/" + id, stranger);
        Assert.Equal(HttpStatusCode.NotFound, refused);
        Assert.Contains("response_not_found", refusedBody, StringComparison.Ordinal);

        var (deleted, _) = await SendAsync(_gateways.B, HttpMethod.Delete, "/v1/responses/" + id, secret);
        Assert.Equal(HttpStatusCode.OK, deleted);
        var (gone, _) = await SendAsync(_gateways.B, HttpMethod.Get, "/v1/responses/" + id, secret);
        Assert.Equal(HttpStatusCode.NotFound, gone);
    }

    private async Task<string> CreateKeyAsync(string id)
    {
        var created = await _gateways.AdminAsync(_gateways.A, HttpMethod.Post, "/admin/keys", new JsonObject { ["id"] = id }, HttpStatusCode.Created);
        return created["secret"]!.GetValue<string>();
    }

    /// <summary>A key created on A reaches B within the propagation period: polled, bounded.</summary>
    private async Task WaitUntilServedAsync(GatewayProcess gateway, string secret)
    {
        var clock = RealClock.Start();
        var status = HttpStatusCode.Unauthorized;
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            (status, _) = await SendAsync(gateway, HttpMethod.Post, "/v1/responses", secret, """{"model":"sim-chat","input":"warm up"}""");
            if (status == HttpStatusCode.OK)
            {
                return;
            }

            await Poll.NextAsync(50);
        }

        Assert.Fail($"the key was not served by {gateway.BaseAddress} within 15 s (last status {status})");
    }

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(GatewayProcess gateway, HttpMethod method, string path, string secret, string? json = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(gateway.BaseAddress, path));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await _gateways.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
