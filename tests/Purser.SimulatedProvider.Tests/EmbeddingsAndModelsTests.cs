using System.Buffers.Binary;
using System.Net;
using System.Text.Json.Nodes;

namespace Purser.SimulatedProvider.Tests;

public sealed class EmbeddingsAndModelsTests : IClassFixture<SimServerFixture>
{
    private readonly SimServerFixture sim;

    public EmbeddingsAndModelsTests(SimServerFixture sim)
    {
        this.sim = sim;
    }

    private Task<(HttpResponseMessage Response, JsonNode Body)> EmbedAsync(string json) =>
        sim.SendJsonAsync(SimServerFixture.OpenAiRequest("/v1/embeddings", json));

    [Fact]
    public async Task Float_and_base64_encodings_decode_to_the_same_unit_vector()
    {
        var (response, asFloats) = await EmbedAsync("""{"model":"sim-embed","input":["hello world","other"],"dimensions":8}""");
        var (_, asBase64) = await EmbedAsync("""{"model":"sim-embed","input":["hello world","other"],"dimensions":8,"encoding_format":"base64"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("list", (string)asFloats["object"]!);
        Assert.Equal("sim-embed", (string)asFloats["model"]!);
        for (int i = 0; i < 2; i++)
        {
            JsonNode item = asFloats["data"]![i]!;
            Assert.Equal("embedding", (string)item["object"]!);
            Assert.Equal(i, (int)item["index"]!);
            float[] floats = item["embedding"]!.AsArray().Select(v => (float)v!).ToArray();
            byte[] bytes = Convert.FromBase64String((string)asBase64["data"]![i]!["embedding"]!);
            float[] decoded = Enumerable.Range(0, bytes.Length / 4).Select(k => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(k * 4))).ToArray();

            Assert.Equal(8, floats.Length);
            Assert.Equal(floats, decoded);
            Assert.InRange(Math.Sqrt(floats.Sum(f => (double)f * f)), 0.999, 1.001);
        }

        Assert.NotEqual(asFloats["data"]![0]!["embedding"]!.ToJsonString(), asFloats["data"]![1]!["embedding"]!.ToJsonString());
        // "hello world" = 11 bytes -> 3, "other" = 5 bytes -> 2.
        Assert.Equal(5, (int)asFloats["usage"]!["prompt_tokens"]!);
        Assert.Equal(5, (int)asFloats["usage"]!["total_tokens"]!);
    }

    [Fact]
    public async Task Same_input_embeds_identically_and_default_dimension_is_16()
    {
        var (_, first) = await EmbedAsync("""{"model":"sim-embed","input":"stable"}""");
        var (_, second) = await EmbedAsync("""{"model":"sim-embed","input":["stable"]}""");

        Assert.Equal(16, first["data"]![0]!["embedding"]!.AsArray().Count);
        Assert.Equal(first["data"]![0]!["embedding"]!.ToJsonString(), second["data"]![0]!["embedding"]!.ToJsonString());
    }

    [Fact]
    public async Task Token_array_inputs_count_their_length()
    {
        var (_, body) = await EmbedAsync("""{"model":"sim-embed","input":[[1,2,3],[4,5]]}""");

        Assert.Equal(2, body["data"]!.AsArray().Count);
        Assert.Equal(5, (int)body["usage"]!["prompt_tokens"]!);
    }

    [Theory]
    [InlineData("""{"model":"sim-embed"}""", "input")]
    [InlineData("""{"model":"sim-embed","input":5}""", "input")]
    [InlineData("""{"model":"sim-embed","input":"x","encoding_format":"hex"}""", "encoding_format")]
    [InlineData("""{"input":"x"}""", "model")]
    public async Task Invalid_embedding_requests_are_400(string json, string param)
    {
        var (response, body) = await EmbedAsync(json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, (string)body["error"]!["param"]!);
    }

    [Fact]
    public async Task Models_lists_the_simulated_ids()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Add("Authorization", "Bearer k");
        var (_, body) = await sim.SendJsonAsync(request);

        Assert.Equal("list", (string)body["object"]!);
        string[] ids = body["data"]!.AsArray().Select(m => (string)m!["id"]!).ToArray();
        Assert.Equal(["sim-chat", "sim-embed", "claude-sim"], ids);
        Assert.All(body["data"]!.AsArray(), m =>
        {
            Assert.Equal("model", (string)m!["object"]!);
            Assert.Equal("purser-sim", (string)m["owned_by"]!);
        });
    }

    [Fact]
    public async Task Health_is_ok_and_base_address_is_the_bound_loopback_port()
    {
        Assert.Equal("ok", await sim.Http.GetStringAsync("/health"));
        Assert.Equal("127.0.0.1", sim.BaseAddress.Host);
        Assert.NotEqual(0, sim.BaseAddress.Port);
    }

    [Fact]
    public async Task Unknown_route_is_404_in_openai_shape()
    {
        var (response, body) = await sim.SendJsonAsync(SimServerFixture.OpenAiRequest("/v1/nope", "{}"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("invalid_request_error", (string)body["error"]!["type"]!);
    }
}
