using System.Net.Http.Headers;
using System.Text;

namespace Purser.Gateway.Tests.Infrastructure;

/// <summary>Raw HTTP requests for the cases an SDK would never send (bad JSON, wrong types, oversize bodies).</summary>
internal static class Requests
{
    public static HttpRequestMessage Chat(string model, string body, string secret = GatewayFixture.Secret) =>
        Post("/v1/chat/completions", body, secret);

    public static HttpRequestMessage Messages(string body, string secret = GatewayFixture.Secret, string path = "/v1/messages")
    {
        var request = Post(path, body, secret: null);
        request.Headers.Add("x-api-key", secret);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return request;
    }

    public static HttpRequestMessage CountTokens(string body, string secret = GatewayFixture.Secret) => Messages(body, secret, "/v1/messages/count_tokens");

    public static HttpRequestMessage Post(string path, string body, string? secret = GatewayFixture.Secret)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (secret is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        return request;
    }
}
