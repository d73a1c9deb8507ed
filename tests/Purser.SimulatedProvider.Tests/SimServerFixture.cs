using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Purser.SimulatedProvider.Tests;

/// <summary>One real simulator on an ephemeral loopback port per test class, plus HTTP helpers.</summary>
public sealed class SimServerFixture : IAsyncLifetime
{
    private SimulatedProviderServer? server;

    public HttpClient Http { get; private set; } = null!;

    public Uri BaseAddress => server!.BaseAddress;

    public async Task InitializeAsync()
    {
        server = await SimulatedProviderServer.StartAsync();
        Http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    public static HttpRequestMessage OpenAiRequest(string path, string json, string? key = "sk-test")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return request;
    }

    public static HttpRequestMessage AnthropicRequest(string json, string? key = "sk-ant-test", string? version = "2023-06-01")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add("x-api-key", key);
        }

        if (version is not null)
        {
            request.Headers.Add("anthropic-version", version);
        }

        return request;
    }

    public async Task<(HttpResponseMessage Response, JsonNode Body)> SendJsonAsync(HttpRequestMessage request)
    {
        HttpResponseMessage response = await Http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response, JsonNode.Parse(text)!);
    }

    public Task<(HttpResponseMessage Response, JsonNode Body)> ChatAsync(string json) =>
        SendJsonAsync(OpenAiRequest("/v1/chat/completions", json));

    /// <summary>Reads a whole SSE response into its frames (event name, data).</summary>
    public async Task<(HttpResponseMessage Response, List<(string? Event, string Data)> Frames)> StreamAsync(HttpRequestMessage request)
    {
        HttpResponseMessage response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        string text = await response.Content.ReadAsStringAsync();
        return (response, ParseFrames(text));
    }

    public static List<(string? Event, string Data)> ParseFrames(string text)
    {
        var frames = new List<(string? Event, string Data)>();
        foreach (string block in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            string? data = null;
            foreach (string line in block.Split('\n'))
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = line["data: ".Length..];
                }
            }

            Assert.NotNull(data);
            frames.Add((name, data));
        }

        return frames;
    }
}
