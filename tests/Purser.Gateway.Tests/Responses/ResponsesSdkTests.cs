#pragma warning disable OPENAI001 // The Responses client is marked experimental by the SDK.
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Responses;
using Purser.Gateway.Tests.Pipeline;
using Purser.Usage;

namespace Purser.Gateway.Tests.Responses;

/// <summary>
/// The official OpenAI .NET SDK's Responses client, pointed at the gateway by base URL, against the simulated provider:
/// create, stream, a function-call round trip, previous_response_id, retrieval, and a budget refusal that surfaces as
/// the SDK's own exception. Every call's usage record matches what the SDK was told.
/// </summary>
[Collection(MeteringCollection.Name)]
public sealed class ResponsesSdkTests
{
    private readonly MeteringFixture _fixture;

    public ResponsesSdkTests(MeteringFixture fixture) => _fixture = fixture;

    private ResponsesClient Client(string secret) => new(new ApiKeyCredential(secret), new ResponsesClientOptions
    {
        Endpoint = new Uri(_fixture.Gateway.BaseAddress, "v1/"),
        RetryPolicy = new ClientRetryPolicy(0),
    });

    private static string RequestIdOf(ClientResult result) =>
        result.GetRawResponse().Headers.TryGetValue("x-request-id", out var id) ? id! : throw new InvalidOperationException("no x-request-id");

    [Fact]
    public async Task A_response_is_created_answered_and_priced_from_its_usage()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        var result = await Client(secret).CreateResponseAsync("sim-ok", "Say hello to the gateway");
        var response = result.Value;

        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal(20, response.GetOutputText().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(response.Usage.InputTokenCount > 0);
        Assert.Equal(20, response.Usage.OutputTokenCount);

        var record = Assert.Single(await _fixture.SettledAsync(keyId, 1));
        Assert.Equal(RequestIdOf(result), record.RequestId);
        Assert.Equal("responses", record.Operation);
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(response.Usage.InputTokenCount, record.Tokens.InputTokens);
        Assert.Equal((response.Usage.InputTokenCount * 500L) + (20 * 1500L), record.Cost.NanoUsd);
        var (_, spent, held) = await _fixture.BudgetAsync(keyId);
        Assert.Equal(record.Cost.NanoUsd, spent);
        Assert.Equal(0, held);
    }

    [Fact]
    public async Task A_streamed_response_delivers_every_delta_in_order_and_the_completed_usage()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        var options = new CreateResponseOptions("sim-ok", [ResponseItem.CreateUserMessageItem("Stream to me")]) { StreamingEnabled = true };
        var text = new StringBuilder();
        var kinds = new List<StreamingResponseUpdateKind>();
        var sequence = new List<int>();
        ResponseResult? completed = null;
        await foreach (var update in await Client(secret).CreateResponseStreamingAsync(options))
        {
            kinds.Add(update.Kind);
            sequence.Add(update.SequenceNumber);
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
            else if (update is StreamingResponseCompletedUpdate done)
            {
                completed = done.Response;
            }
        }

        Assert.Equal(StreamingResponseUpdateKind.ResponseCreated, kinds[0]);
        Assert.Equal(StreamingResponseUpdateKind.ResponseCompleted, kinds[^1]);
        Assert.True(kinds.IndexOf(StreamingResponseUpdateKind.ResponseOutputItemAdded) < kinds.IndexOf(StreamingResponseUpdateKind.ResponseOutputTextDelta));
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
        Assert.Equal(20, text.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.NotNull(completed);
        Assert.Equal(20, completed!.Usage.OutputTokenCount);

        var record = Assert.Single(await _fixture.SettledAsync(keyId, 1));
        Assert.True(record.Streamed);
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(completed.Usage.InputTokenCount, record.Tokens.InputTokens);
        Assert.Equal((completed.Usage.InputTokenCount * 500L) + (20 * 1500L), record.Cost.NanoUsd);
    }

    [Fact]
    public async Task A_function_call_round_trip_continues_the_conversation_by_previous_response_id()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        var client = Client(secret);
        var tool = ResponseTool.CreateFunctionTool(
            "get_weather",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""),
            strictModeEnabled: false,
            functionDescription: "Weather for a city");
        var first = (await client.CreateResponseAsync(new CreateResponseOptions("sim-ok", [ResponseItem.CreateUserMessageItem("Weather in Oslo?")]) { Tools = { tool } })).Value;
        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(first.OutputItems));
        Assert.Equal("get_weather", call.FunctionName);
        using (var args = JsonDocument.Parse(call.FunctionArguments))
        {
            Assert.Equal(JsonValueKind.String, args.RootElement.GetProperty("city").ValueKind);
        }

        var second = (await client.CreateResponseAsync(new CreateResponseOptions("sim-ok", [ResponseItem.CreateFunctionCallOutputItem(call.CallId, "{\"temp_c\":4}")])
        {
            PreviousResponseId = first.Id,
            Tools = { tool },
        })).Value;
        Assert.Equal(first.Id, second.PreviousResponseId);
        Assert.False(string.IsNullOrWhiteSpace(second.GetOutputText()));

        // The continued conversation is billed again as input: the second call's input includes the first's.
        Assert.True(second.Usage.InputTokenCount > first.Usage.InputTokenCount);
        var records = await _fixture.SettledAsync(keyId, 2);
        Assert.Equal(2, records.Count);
        Assert.Contains(records, r => r.Tokens.InputTokens == second.Usage.InputTokenCount && r.Cost.NanoUsd == (second.Usage.InputTokenCount * 500L) + (second.Usage.OutputTokenCount * 1500L));
    }

    [Fact]
    public async Task A_stored_response_is_retrieved_listed_and_deleted_through_the_gateway_for_its_own_key_only()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        var client = Client(secret);
        var created = (await client.CreateResponseAsync("sim-ok", "Remember me")).Value;

        var retrieved = (await client.GetResponseAsync(created.Id)).Value;
        Assert.Equal(created.Id, retrieved.Id);
        Assert.Equal(created.GetOutputText(), retrieved.GetOutputText());

        var items = new List<ResponseItem>();
        await foreach (var item in client.GetResponseInputItemsAsync(created.Id))
        {
            items.Add(item);
        }

        Assert.Single(items);

        // Another key is told the response does not exist, and is charged nothing.
        var (otherId, otherSecret) = await _fixture.KeyWithCapAsync("1");
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Client(otherSecret).GetResponseAsync(created.Id));
        Assert.Equal(404, refused.Status);

        var deleted = (await client.DeleteResponseAsync(created.Id)).Value;
        Assert.True(deleted.Deleted);
        var gone = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(created.Id));
        Assert.Equal(404, gone.Status);

        // create + get + input_items + delete + get: one record each; only the create costs anything.
        var records = await _fixture.SettledAsync(keyId, 5);
        Assert.Equal(5, records.Count);
        Assert.Single(records, r => r.Cost.NanoUsd > 0);
        Assert.All(records, r => Assert.Equal("responses", r.Operation));
        var other = Assert.Single(await _fixture.SettledAsync(otherId, 1));
        Assert.Equal(404, other.Status);
        Assert.Equal(0, other.Cost.NanoUsd);
    }

    [Fact]
    public async Task A_budget_refusal_surfaces_as_the_sdks_exception_with_the_gateways_message()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("0.000001");
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Client(secret).CreateResponseAsync("sim-ok", "Too expensive for this key"));
        Assert.Equal(402, refused.Status);
        Assert.Contains("budget", refused.Message, StringComparison.OrdinalIgnoreCase);

        var record = Assert.Single(await _fixture.SettledAsync(keyId, 1));
        Assert.Equal(402, record.Status);
        Assert.Equal(0, record.Cost.NanoUsd);
        var (_, spent, held) = await _fixture.BudgetAsync(keyId);
        Assert.Equal(0, spent);
        Assert.Equal(0, held);
    }

    [Fact]
    public async Task A_translated_response_from_an_anthropic_model_is_answered_and_priced_from_its_usage()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        var result = await Client(secret).CreateResponseAsync("claude-ok", "Say hello from Claude");
        var response = result.Value;
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal(20, response.GetOutputText().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(20, response.Usage.OutputTokenCount);

        var record = Assert.Single(await _fixture.SettledAsync(keyId, 1));
        Assert.Equal("responses", record.Operation);
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(response.Usage.InputTokenCount, record.Tokens.InputTokens);

        // claude-ok: $1 per million input, $5 output.
        Assert.Equal((response.Usage.InputTokenCount * 1000L) + (20 * 5000L), record.Cost.NanoUsd);
    }

    [Fact]
    public async Task A_translated_stream_delivers_responses_events_in_order_with_the_completed_usage()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        var options = new CreateResponseOptions("claude-ok", [ResponseItem.CreateUserMessageItem("Stream from Claude")]) { StreamingEnabled = true };
        var text = new StringBuilder();
        var kinds = new List<StreamingResponseUpdateKind>();
        var sequence = new List<int>();
        ResponseResult? completed = null;
        await foreach (var update in await Client(secret).CreateResponseStreamingAsync(options))
        {
            kinds.Add(update.Kind);
            sequence.Add(update.SequenceNumber);
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
            else if (update is StreamingResponseCompletedUpdate done)
            {
                completed = done.Response;
            }
        }

        Assert.Equal(StreamingResponseUpdateKind.ResponseCreated, kinds[0]);
        Assert.Equal(StreamingResponseUpdateKind.ResponseCompleted, kinds[^1]);
        Assert.True(kinds.IndexOf(StreamingResponseUpdateKind.ResponseOutputItemAdded) < kinds.IndexOf(StreamingResponseUpdateKind.ResponseOutputTextDelta));
        Assert.Contains(StreamingResponseUpdateKind.ResponseOutputItemDone, kinds);
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
        Assert.Equal(20, text.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(text.ToString(), completed!.GetOutputText());
        Assert.Equal(20, completed.Usage.OutputTokenCount);

        var record = Assert.Single(await _fixture.SettledAsync(keyId, 1));
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal((completed.Usage.InputTokenCount * 1000L) + (20 * 5000L), record.Cost.NanoUsd);
    }

    [Fact]
    public async Task A_translated_function_call_round_trip_sends_the_whole_conversation()
    {
        var (_, secret) = await _fixture.KeyWithCapAsync("1");
        var client = Client(secret);
        var tool = ResponseTool.CreateFunctionTool(
            "get_weather",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""),
            strictModeEnabled: false,
            functionDescription: "Weather for a city");
        List<ResponseItem> conversation = [ResponseItem.CreateUserMessageItem("Weather in Oslo?")];
        var first = (await client.CreateResponseAsync(new CreateResponseOptions("claude-ok", conversation) { Tools = { tool } })).Value;
        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(first.OutputItems));
        Assert.Equal("get_weather", call.FunctionName);

        conversation.Add(call);
        conversation.Add(ResponseItem.CreateFunctionCallOutputItem(call.CallId, "{\"temp_c\":4}"));
        var second = (await client.CreateResponseAsync(new CreateResponseOptions("claude-ok", conversation) { Tools = { tool } })).Value;
        Assert.False(string.IsNullOrWhiteSpace(second.GetOutputText()));
        Assert.True(second.Usage.InputTokenCount > first.Usage.InputTokenCount);

        // What only OpenAI's Responses API can do is a 400 that says so, with nothing charged.
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync(
            new CreateResponseOptions("claude-ok", [ResponseItem.CreateUserMessageItem("and tomorrow?")]) { PreviousResponseId = first.Id }));
        Assert.Equal(400, refused.Status);
        Assert.Contains("cannot be translated", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_budget_refusal_on_a_translated_model_surfaces_as_the_sdks_exception()
    {
        var (_, secret) = await _fixture.KeyWithCapAsync("0.000001");
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Client(secret).CreateResponseAsync("claude-ok", "Too expensive"));
        Assert.Equal(402, refused.Status);
    }
}
