using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using OpenAI;
using OpenAI.Chat;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Sdk;

/// <summary>
/// The official OpenAI .NET SDK, with its default retry policy, gets a 429 from a rate limit, waits what retry-after-ms
/// says (one second) and succeeds on the retry. The gateway's clock is a fake: a handler under the SDK advances it by
/// the wait the 429 announced, the signal that the window allows again; the only real wait is the SDK's own.
/// </summary>
public sealed class RateLimitSdkRetryTests : IAsyncLifetime
{
    private readonly BudgetFixture _fixture = new(
        new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero),
        extraYaml: """
            keys:
              - { id: sdk-rl, secret: sk-sdk-rl }
            rate_limits:
              - { id: sdk-rpm, scope: "key:sdk-rl", requests_per_minute: 60 }
            """);

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task The_sdk_with_default_retries_succeeds_once_the_window_allows()
    {
        // Spend the minute's 60 requests.
        for (var i = 0; i < 60; i++)
        {
            using var spent = await _fixture.Http.SendAsync(_fixture.Chat("sk-sdk-rl", BudgetFixture.ChatBody(10)));
            Assert.Equal(HttpStatusCode.OK, spent.StatusCode);
        }

        var signal = new ClockSignal(_fixture) { InnerHandler = new HttpClientHandler() };
        using var http = new HttpClient(signal);
        var client = new ChatClient("sim-chat", new ApiKeyCredential("sk-sdk-rl"), new OpenAIClientOptions
        {
            Endpoint = new Uri(_fixture.Gateway.BaseAddress, "v1/"),
            Transport = new HttpClientPipelineTransport(http),
        });

        var result = await client.CompleteChatAsync([new UserChatMessage("retry me")]);
        Assert.False(string.IsNullOrEmpty(result.Value.Content[0].Text));
        Assert.Equal(1, signal.RateLimited);
        Assert.Equal(2, signal.Sent);

        // The SDK's retry is a second request: one 429 and one 200 on the key's usage records after the 60.
        var records = await _fixture.UsageOfKeyAsync("sdk-rl");
        Assert.Equal(62, records.Count);
        Assert.Single(records, r => r.Status == 429 && r.ErrorCode == "requests_per_minute_exceeded");
    }

    /// <summary>Advances the gateway's fake clock by the wait a 429 announced, as time passing during the SDK's own wait.</summary>
    private sealed class ClockSignal(BudgetFixture fixture) : DelegatingHandler
    {
        public int Sent;
        public int RateLimited;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Sent);
            var response = await base.SendAsync(request, cancellationToken);
            if (response.StatusCode == HttpStatusCode.TooManyRequests && response.Headers.TryGetValues("retry-after-ms", out var values))
            {
                Interlocked.Increment(ref RateLimited);
                fixture.Time.Advance(TimeSpan.FromMilliseconds(long.Parse(values.Single(), System.Globalization.CultureInfo.InvariantCulture)));
            }

            return response;
        }
    }
}
