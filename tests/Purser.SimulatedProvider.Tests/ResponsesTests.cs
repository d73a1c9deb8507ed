using System.Net;
using System.Text.Json.Nodes;

namespace Purser.SimulatedProvider.Tests;

/// <summary>The simulator's Responses API: OpenAI's shapes for whole and streamed responses, function calls and stored responses.</summary>
public sealed class ResponsesTests : IClassFixture<SimServerFixture>
{
    private readonly SimServerFixture sim;

    public ResponsesTests(SimServerFixture sim)
    {
        this.sim = sim;
    }

    private Task<(HttpResponseMessage Response, JsonNode Body)> CreateAsync(string json) =>
        sim.SendJsonAsync(SimServerFixture.OpenAiRequest("/v1/responses", json));

    private async Task<(HttpResponseMessage Response, JsonNode Body)> SendAsync(HttpMethod method, string path)
    {
        var request = SimServerFixture.OpenAiRequest(path, "{}");
        request.Method = method;
        request.Content = method == HttpMethod.Post ? request.Content : null;
        return await sim.SendJsonAsync(request);
    }

    [Fact]
    public async Task A_response_has_the_response_object_shape_with_usage_details()
    {
        var (response, body) = await CreateAsync("""{"model":"sim-chat~out=3,reason=5,cached=2","input":"hello","instructions":"Be brief."}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("resp_", (string)body["id"]!, StringComparison.Ordinal);
        Assert.Equal("response", (string)body["object"]!);
        Assert.Equal("completed", (string)body["status"]!);
        Assert.Equal("Be brief.", (string)body["instructions"]!);
        var output = body["output"]!.AsArray();
        Assert.Equal("reasoning", (string)output[0]!["type"]!);
        Assert.Equal("message", (string)output[1]!["type"]!);
        Assert.Equal("lore ipsu dolo", (string)output[1]!["content"]![0]!["text"]!);
        var usage = body["usage"]!;
        Assert.Equal(8, (int)usage["output_tokens"]!);
        Assert.Equal(5, (int)usage["output_tokens_details"]!["reasoning_tokens"]!);
        Assert.Equal(2, (int)usage["input_tokens_details"]!["cached_tokens"]!);
        Assert.Equal((int)usage["input_tokens"]! + 8, (int)usage["total_tokens"]!);
    }

    [Fact]
    public async Task A_stream_sends_the_events_in_order_with_sequence_numbers_and_ends_with_completed()
    {
        var (_, frames) = await sim.StreamAsync(SimServerFixture.OpenAiRequest("/v1/responses", """{"model":"sim-chat~out=3","input":"hi","stream":true}"""));
        var types = frames.Select(f => f.Event).ToList();
        Assert.Equal(
            ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
             "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
             "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"],
            types);
        var events = frames.Select(f => JsonNode.Parse(f.Data)!).ToList();
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Equal(types[i], (string)events[i]["type"]!);
            Assert.Equal(i, (int)events[i]["sequence_number"]!);
        }

        Assert.Null(events[0]["response"]!["usage"]);
        Assert.Equal(3, (int)events[^1]["response"]!["usage"]!["output_tokens"]!);
    }

    [Fact]
    public async Task A_function_call_is_streamed_as_argument_deltas_and_answered_after_its_output()
    {
        const string Tools = """[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]""";
        var (_, frames) = await sim.StreamAsync(SimServerFixture.OpenAiRequest("/v1/responses", $$"""{"model":"sim-chat","input":"weather?","stream":true,"tools":{{Tools}}}"""));
        Assert.Contains(frames, f => f.Event == "response.function_call_arguments.delta");
        var done = JsonNode.Parse(frames.Single(f => f.Event == "response.function_call_arguments.done").Data)!;
        var args = JsonNode.Parse((string)done["arguments"]!)!;
        Assert.NotNull(args["city"]);

        var (_, first) = await CreateAsync($$"""{"model":"sim-chat","input":"weather?","tools":{{Tools}}}""");
        var call = first["output"]![0]!;
        Assert.Equal("function_call", (string)call["type"]!);
        var (_, second) = await CreateAsync($$"""{"model":"sim-chat","previous_response_id":"{{first["id"]}}","input":[{"type":"function_call_output","call_id":"{{call["call_id"]}}","output":"4 C"}],"tools":{{Tools}}}""");
        Assert.Equal("message", (string)second["output"]![0]!["type"]!);
        Assert.True((int)second["usage"]!["input_tokens"]! > (int)first["usage"]!["input_tokens"]!);
    }

    [Fact]
    public async Task Stored_responses_are_retrieved_listed_cancelled_and_deleted()
    {
        var (_, created) = await CreateAsync("""{"model":"sim-chat","input":"remember me"}""");
        var id = (string)created["id"]!;
        var (_, got) = await SendAsync(HttpMethod.Get, "/v1/responses/" + id);
        Assert.Equal(created.ToJsonString(), got.ToJsonString());

        var (_, items) = await SendAsync(HttpMethod.Get, "/v1/responses/" + id + "/input_items");
        Assert.Equal("list", (string)items["object"]!);
        Assert.Equal("remember me", (string)items["data"]![0]!["content"]![0]!["text"]!);

        var (cancelResponse, _) = await SendAsync(HttpMethod.Post, "/v1/responses/" + id + "/cancel");
        Assert.Equal(HttpStatusCode.BadRequest, cancelResponse.StatusCode);

        var (_, deleted) = await SendAsync(HttpMethod.Delete, "/v1/responses/" + id);
        Assert.True((bool)deleted["deleted"]!);
        var (gone, _) = await SendAsync(HttpMethod.Get, "/v1/responses/" + id);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);

        var (_, unstored) = await CreateAsync("""{"model":"sim-chat","input":"forget me","store":false}""");
        var (notStored, _) = await SendAsync(HttpMethod.Get, "/v1/responses/" + (string)unstored["id"]!);
        Assert.Equal(HttpStatusCode.NotFound, notStored.StatusCode);
    }

    [Fact]
    public async Task A_background_response_is_queued_then_completed_when_retrieved_or_cancelled_before()
    {
        var (_, queued) = await CreateAsync("""{"model":"sim-chat~out=4","input":"later","background":true}""");
        Assert.Equal("queued", (string)queued["status"]!);
        Assert.Null(queued["usage"]);
        var (_, done) = await SendAsync(HttpMethod.Get, "/v1/responses/" + (string)queued["id"]!);
        Assert.Equal("completed", (string)done["status"]!);
        Assert.Equal(4, (int)done["usage"]!["output_tokens"]!);

        var (_, other) = await CreateAsync("""{"model":"sim-chat","input":"never mind","background":true}""");
        var (_, cancelled) = await SendAsync(HttpMethod.Post, "/v1/responses/" + (string)other["id"]! + "/cancel");
        Assert.Equal("cancelled", (string)cancelled["status"]!);
    }

    [Fact]
    public async Task A_background_response_with_queued_n_stays_queued_for_n_retrievals()
    {
        var (_, created) = await CreateAsync("""{"model":"sim-chat~out=4,queued=2","input":"slow","background":true}""");
        var id = (string)created["id"]!;
        for (var i = 0; i < 2; i++)
        {
            var (_, still) = await SendAsync(HttpMethod.Get, "/v1/responses/" + id);
            Assert.Equal("queued", (string)still["status"]!);
            Assert.Null(still["usage"]);
        }

        var (_, done) = await SendAsync(HttpMethod.Get, "/v1/responses/" + id);
        Assert.Equal("completed", (string)done["status"]!);
        Assert.Equal(4, (int)done["usage"]!["output_tokens"]!);
    }

    [Theory]
    [InlineData("""{"model":"sim-chat","input":42}""", "input")]
    [InlineData("""{"model":"sim-chat","input":"hi","max_output_tokens":8}""", "max_output_tokens")]
    [InlineData("""{"model":"sim-chat","input":"hi","previous_response_id":"resp_nope"}""", "previous_response_id")]
    [InlineData("""{"model":"sim-chat","input":"hi","background":true,"store":false}""", "background")]
    public async Task Invalid_requests_are_400s_naming_the_parameter(string json, string param)
    {
        var (response, body) = await CreateAsync(json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, (string)body["error"]!["param"]!);
    }

    [Fact]
    public async Task A_max_output_tokens_cut_makes_the_response_incomplete()
    {
        var (_, body) = await CreateAsync("""{"model":"sim-chat~out=40","input":"hi","max_output_tokens":16}""");
        Assert.Equal("incomplete", (string)body["status"]!);
        Assert.Equal("max_output_tokens", (string)body["incomplete_details"]!["reason"]!);
        Assert.Equal(16, (int)body["usage"]!["output_tokens"]!);
    }
}
