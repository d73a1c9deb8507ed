using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// A bounded load on several gateways: <c>clients</c> concurrent loops take the next request number until
/// <c>requests</c> were sent, request i going to gateway i mod n. Every outcome is kept: gateway, status, error code
/// and request id.
/// </summary>
internal sealed class MultiInstanceLoad
{
    public const string KeySecret = "sk-purser-mi-swarm";
    public const string TaskId = "mi-swarm";
    public const int MaxTokens = 64;

    /// <summary>The request body; its worst case is what every admission holds.</summary>
    public static readonly string Body =
        $$"""{"model":"sim-chat","max_tokens":{{MaxTokens}},"messages":[{"role":"user","content":"hello from the swarm"}]}""";

    private readonly IReadOnlyList<Uri> _gateways;
    private readonly HttpClient _http;
    private readonly string _ceiling;
    private int _completed;

    public MultiInstanceLoad(IReadOnlyList<Uri> gateways, HttpClient http, string ceiling)
    {
        _gateways = gateways;
        _http = http;
        _ceiling = ceiling;
    }

    /// <summary>sim-chat's price in the test config: $0.50 in and $1.50 out per million tokens (nano-USD per token).</summary>
    public static long WorstCaseNano => ((Encoding.UTF8.GetByteCount(Body) + 256) * 500L) + (MaxTokens * 1500L);

    public ConcurrentBag<Outcome> Outcomes { get; } = [];

    public int Completed => Volatile.Read(ref _completed);

    public async Task RunAsync(int requests, int clients, int firstRequest = 0)
    {
        var next = firstRequest - 1;
        var last = firstRequest + requests;
        var loops = new Task[clients];
        for (var c = 0; c < clients; c++)
        {
            loops[c] = Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < last)
                {
                    Outcomes.Add(await SendAsync(i % _gateways.Count));
                    Interlocked.Increment(ref _completed);
                }
            });
        }

        await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(120), TimeProvider.System);
    }

    public async Task<Outcome> SendAsync(int gateway)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_gateways[gateway], "/v1/chat/completions"))
        {
            Content = new StringContent(Body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", KeySecret);
        request.Headers.Add("x-budget-scope", TaskId);
        request.Headers.Add("x-budget-ceiling", _ceiling);
        try
        {
            using var response = await _http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var id = response.Headers.TryGetValues("x-request-id", out var ids) ? ids.First() : null;
            string? code = null;
            if (!response.IsSuccessStatusCode)
            {
                try
                {
                    using var json = JsonDocument.Parse(body);
                    code = json.RootElement.GetProperty("error").GetProperty("code").GetString();
                }
                catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    code = "unparsed: " + body;
                }
            }

            return new Outcome(gateway, (int)response.StatusCode, code, id);
        }
        catch (HttpRequestException ex)
        {
            // The gateway is gone (killed): the connection was refused or cut.
            return new Outcome(gateway, 0, ex.HttpRequestError.ToString(), null);
        }
    }

    public sealed record Outcome(int Gateway, int Status, string? Code, string? RequestId);
}
