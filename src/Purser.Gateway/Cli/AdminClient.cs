using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Purser.Gateway.Cli;

/// <summary>
/// The operator commands' way to a running gateway: its admin API over HTTP with the master key. Every failure comes
/// back as a sentence for the operator (the gateway's own error message where it sent one), never as an exception.
/// </summary>
internal sealed class AdminClient : IDisposable
{
    private readonly HttpClient _http;

    public AdminClient(Uri baseAddress, string adminKey)
    {
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
    }

    public Task<(JsonNode? Body, string? Error)> GetAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, null, cancellationToken);

    public async Task<(JsonNode? Body, string? Error)> SendAsync(HttpMethod method, string path, JsonObject? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            return (null, $"cannot reach the gateway at {_http.BaseAddress}: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"the gateway at {_http.BaseAddress} did not answer within {_http.Timeout.TotalSeconds:0} seconds");
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            JsonNode? json = null;
            try
            {
                json = text.Length == 0 ? null : JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                // Not JSON (a proxy's error page, say): the status line below says enough.
            }

            if (response.IsSuccessStatusCode)
            {
                return (json, null);
            }

            var message = json?["error"]?["message"]?.GetValue<string>();
            var status = (int)response.StatusCode;
            return (null, status == 401
                ? "the gateway refused the admin key (HTTP 401)" + (message is null ? "." : ": " + message)
                : $"{message ?? "the gateway answered " + response.ReasonPhrase} (HTTP {status})");
        }
    }

    public void Dispose() => _http.Dispose();
}
