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
/// The OpenAI .NET SDK's Responses client against a model of a chat-only OpenAI-compatible provider
/// (<c>responses: false</c>): the gateway translates each request to Chat Completions and the answer back (the response
/// id is the gateway's own, <c>resp_&lt;request id&gt;</c>, proving the translated path), whole and streamed, with
/// function calls; each call is charged its usage × the model's price; what cannot be translated is a 400.
/// </summary>
[Collection(MeteringCollection.Name)]
public sealed class ResponsesChatOnlyTests
{
    private static readonly ResponseTool Weather = ResponseTool.CreateFunctionTool(
        "get_weather",
        BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""),
        strictModeEnabled: false,
        functionDescription: "Weather for a city");

    private readonly MeteringFixture _fixture;

    public ResponsesChatOnlyTests(MeteringFixture fixture) => _fixture = fixture;

    private ResponsesClient Client(string secret) => new(new ApiKeyCredential(secret), new ResponsesClientOptions
    {
        Endpoint = new Uri(_fixture.Gateway.BaseAddress, "v1/"),
        RetryPolicy = new ClientRetryPolicy(0),
    });

    private static string RequestIdOf(ClientResult result) =>
        result.GetRawResponse().Headers.TryGetValue("x-request-id", out var id) ? id! : throw new InvalidOperationException("no x-request-id");

    // chatonly-ok: $2 per million input, $3 per million output.
    private static long CostOf(long input, long output) => (input * 2000L) + (output * 3000L);

    [Fact]
    public async Task A_response_is_translated_from_chat_completions_and_charged_usage_times_price()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        var result = await Client(secret).CreateResponseAsync("chatonly-ok", "Say hello through chat completions");
        var response = result.Value;

        Assert.Equal("resp_" + RequestIdOf(result), response.Id);
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal(20, response.GetOutputText().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(response.Usage.InputTokenCount > 0);
        Assert.Equal(20, response.Usage.OutputTokenCount);

        var record = Assert.Single(await _fixture.SettledAsync(keyId, 1));
        Assert.Equal("responses", record.Operation);
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(response.Usage.InputTokenCount, record.Tokens.InputTokens);
        Assert.Equal(CostOf(response.Usage.InputTokenCount, 20), record.Cost.NanoUsd);
        var (_, spent, held) = await _fixture.BudgetAsync(keyId);
        Assert.Equal(record.Cost.NanoUsd, spent);
        Assert.Equal(0, held);
    }

    [Fact]
    public async Task A_stream_is_translated_into_the_responses_event_sequence_with_the_completed_usage()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        var options = new CreateResponseOptions("chatonly-ok", [ResponseItem.CreateUserMessageItem("Stream to me")]) { StreamingEnabled = true };
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
        Assert.True(kinds.LastIndexOf(StreamingResponseUpdateKind.ResponseOutputTextDelta) < kinds.IndexOf(StreamingResponseUpdateKind.ResponseOutputItemDone));
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
        Assert.Equal(20, text.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.NotNull(completed);
        Assert.Equal(text.ToString(), completed!.GetOutputText());
        Assert.Equal(20, completed.Usage.OutputTokenCount);

        var record = Assert.Single(await _fixture.SettledAsync(keyId, 1));
        Assert.True(record.Streamed);
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(completed.Usage.InputTokenCount, record.Tokens.InputTokens);
        Assert.Equal(CostOf(completed.Usage.InputTokenCount, 20), record.Cost.NanoUsd);
    }

    [Fact]
    public async Task A_function_call_round_trip_is_translated_whole_and_streamed()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        var client = Client(secret);
        List<ResponseItem> conversation = [ResponseItem.CreateUserMessageItem("Weather in Oslo?")];
        var first = (await client.CreateResponseAsync(new CreateResponseOptions("chatonly-ok", conversation) { Tools = { Weather } })).Value;
        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(first.OutputItems));
        Assert.Equal("get_weather", call.FunctionName);
        using (var args = JsonDocument.Parse(call.FunctionArguments))
        {
            Assert.Equal(JsonValueKind.String, args.RootElement.GetProperty("city").ValueKind);
        }

        conversation.Add(call);
        conversation.Add(ResponseItem.CreateFunctionCallOutputItem(call.CallId, "{\"temp_c\":4}"));
        var second = (await client.CreateResponseAsync(new CreateResponseOptions("chatonly-ok", conversation) { Tools = { Weather } })).Value;
        Assert.False(string.IsNullOrWhiteSpace(second.GetOutputText()));
        Assert.True(second.Usage.InputTokenCount > first.Usage.InputTokenCount);

        // Streamed, the call arrives as a function_call item with argument deltas that add up to its arguments.
        var arguments = new StringBuilder();
        FunctionCallResponseItem? streamedCall = null;
        ResponseResult? completed = null;
        var options = new CreateResponseOptions("chatonly-ok", [ResponseItem.CreateUserMessageItem("Weather in Bergen?")]) { Tools = { Weather }, StreamingEnabled = true };
        await foreach (var update in await client.CreateResponseStreamingAsync(options))
        {
            if (update is StreamingResponseFunctionCallArgumentsDeltaUpdate delta)
            {
                arguments.Append(delta.Delta);
            }
            else if (update is StreamingResponseOutputItemDoneUpdate { Item: FunctionCallResponseItem doneCall })
            {
                streamedCall = doneCall;
            }
            else if (update is StreamingResponseCompletedUpdate done)
            {
                completed = done.Response;
            }
        }

        Assert.NotNull(streamedCall);
        Assert.Equal("get_weather", streamedCall!.FunctionName);
        Assert.Equal(streamedCall.FunctionArguments.ToString(), arguments.ToString());
        Assert.NotNull(completed);

        var records = await _fixture.SettledAsync(keyId, 3);
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.Equal(UsageSource.Reported, r.Source));
        Assert.All(records, r => Assert.Equal(CostOf(r.Tokens.InputTokens, r.Tokens.OutputTokens), r.Cost.NanoUsd));
        var (_, spent, held) = await _fixture.BudgetAsync(keyId);
        Assert.Equal(records.Sum(r => r.Cost.NanoUsd), spent);
        Assert.Equal(0, held);
    }

    [Fact]
    public async Task A_cut_chat_stream_ends_with_the_error_event_and_is_charged_its_counted_output_and_input_bound()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var request = MeteringFixture.Raw(secret, Encoding.UTF8.GetBytes("""{"model":"chatonly-cut","input":"cut me off","stream":true}"""), "/v1/responses");
        using var response = await _fixture.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("event: response.created", text, StringComparison.Ordinal);
        Assert.Contains("event: response.output_text.delta", text, StringComparison.Ordinal);
        Assert.DoesNotContain("response.completed", text, StringComparison.Ordinal);
        Assert.Contains("event: error", text, StringComparison.Ordinal);

        var record = Assert.Single(await _fixture.SettledAsync(keyId, 1));
        Assert.Equal(UsageSource.Counted, record.Source);
        Assert.InRange(record.Tokens.OutputTokens, 1, 49);
        Assert.True(record.Tokens.InputTokens > 0);
        Assert.Equal(CostOf(record.Tokens.InputTokens, record.Tokens.OutputTokens), record.Cost.NanoUsd);
        var (_, spent, held) = await _fixture.BudgetAsync(keyId);
        Assert.Equal(record.Cost.NanoUsd, spent);
        Assert.Equal(0, held);
    }

    [Fact]
    public async Task What_only_the_responses_api_can_do_is_a_400_that_says_so_with_nothing_charged()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        var client = Client(secret);
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync(
            new CreateResponseOptions("chatonly-ok", [ResponseItem.CreateUserMessageItem("and tomorrow?")]) { PreviousResponseId = "resp_elsewhere" }));
        Assert.Equal(400, refused.Status);
        Assert.Contains("cannot be translated", refused.Message, StringComparison.Ordinal);

        var background = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync(
            new CreateResponseOptions("chatonly-ok", [ResponseItem.CreateUserMessageItem("later")]) { BackgroundModeEnabled = true }));
        Assert.Equal(400, background.Status);
        Assert.Contains("background", background.Message, StringComparison.Ordinal);

        var records = await _fixture.SettledAsync(keyId, 2);
        Assert.All(records, r => Assert.Equal(0, r.Cost.NanoUsd));
        var (_, spent, held) = await _fixture.BudgetAsync(keyId);
        Assert.Equal(0, spent);
        Assert.Equal(0, held);
    }
}
