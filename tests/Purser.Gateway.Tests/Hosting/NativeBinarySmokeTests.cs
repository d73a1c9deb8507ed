using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Gateway.Tests.MultiInstance;
using Purser.SimulatedProvider;

namespace Purser.Gateway.Tests.Hosting;

/// <summary>
/// The native (NativeAOT) binary as a real process, once on the offline quickstart (SQLite, the bundled simulated
/// provider, the dashboard) and once on a configuration file with PostgreSQL and Prometheus: chat in both wire
/// formats, whole and streamed, a Responses call, a budget's 402 in both formats, the dashboard, /metrics, admin calls,
/// and exactly one usage record per request in the store. What is trimmed or AOT-compiled away shows up here (and
/// nowhere in the rest of the suite, which runs the JIT build).
/// </summary>
public sealed partial class NativeBinarySmokeTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "purser-native-" + Guid.NewGuid().ToString("N"));
    private readonly CookieContainer _cookies = new();
    private readonly HttpClient _http;

    public NativeBinarySmokeTests()
    {
        Directory.CreateDirectory(_directory);
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = _cookies }) { Timeout = TimeSpan.FromSeconds(30) };
    }

    public void Dispose()
    {
        _http.Dispose();
        FixtureSupport.DeleteQuietly(_directory);
    }

    [NativeBinaryFact]
    public async Task The_quickstart_serves_both_formats_the_dashboard_a_402_and_records_every_request()
    {
        var data = Path.Combine(_directory, "data");
        await using var gateway = await GatewayProcess.StartAsync(NativeBinaryFactAttribute.Binary, ["--urls", "http://127.0.0.1:0", "--data", data], _directory, new Dictionary<string, string>());
        _http.BaseAddress = gateway.BaseAddress;
        var key = (await File.ReadAllTextAsync(Path.Combine(data, "demo-key.txt"))).Trim();
        var admin = (await File.ReadAllTextAsync(Path.Combine(data, "admin-key.txt"))).Trim();

        var sent = await ServeBothFormatsAsync(key, "sim-chat", "claude-sim", gateway);

        // The dashboard: the sign-in page, the admin key through its form, then a page that reads the store.
        var signIn = await GetTextAsync("/ui/signin", gateway);
        var token = CsrfField().Match(signIn).Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(token), signIn);
        using (var posted = await _http.PostAsync("/ui/signin", new FormUrlEncodedContent([new("__csrf", token), new("return", "/ui/budgets"), new("admin_key", admin)])))
        {
            Assert.True(posted.StatusCode == HttpStatusCode.Redirect, await posted.Content.ReadAsStringAsync() + gateway.Output);
            Assert.Equal("/ui/budgets", posted.Headers.Location?.OriginalString);
        }

        Assert.Contains("demo-daily", await GetTextAsync("/ui/budgets", gateway), StringComparison.Ordinal);
        Assert.Contains("sim-chat", await GetTextAsync("/ui/usage", gateway), StringComparison.Ordinal);

        // An admin call that changes the budgets: a cap below any request's worst case on the demo key.
        using (var put = await FixtureSupport.AdminAsync(_http, admin, HttpMethod.Put, "/admin/budgets/native-tiny",
            new JsonObject { ["scope"] = "key:demo", ["window"] = "daily", ["cap_usd"] = "0.000001", ["mode"] = "reserve" }))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync() + gateway.Output);
        }

        var refused = await RefusedInBothFormatsAsync(key, "sim-chat", gateway);
        await AssertRecordedAsync(admin, "demo", sent + refused, refused, gateway);
        await gateway.StopAsync();
    }

    [NativeBinaryFact]
    public async Task A_configuration_with_postgresql_serves_records_into_postgresql_and_exports_metrics()
    {
        await using var postgres = await TestPostgres.CreateOnSharedServerAsync();
        await using var simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
        var sim = simulator.BaseAddress.AbsoluteUri.TrimEnd('/');
        var config = Path.Combine(_directory, "purser.yaml");
        await File.WriteAllTextAsync(config, $$"""
            server:
              listen: http://127.0.0.1:0
              admin_key_hash: {{Purser.Keys.KeyHasher.Hash(AdminSecret)}}
            storage:
              sqlite_path: {{Path.Combine(_directory, "local.db")}}
              postgres: ${PURSER_NATIVE_POSTGRES}
            telemetry: { prometheus: true }
            providers:
              sim-openai: { kind: openai, base_url: "{{sim}}/v1", api_key: sim }
              sim-anthropic: { kind: anthropic, base_url: "{{sim}}/v1", api_key: sim }
            models:
              sim-chat: { provider: sim-openai, price: { input: 0.5, output: 1.5 } }
              claude-sim: { provider: sim-anthropic, price: { input: 1, output: 5 } }
            keys:
              - { id: native, secret: {{KeySecret}} }
              - { id: capped, secret: {{CappedSecret}} }
            budgets:
              - { id: native-daily, scope: "key:native", window: daily, cap_usd: 100 }
              - { id: capped-daily, scope: "key:capped", window: daily, cap_usd: 0.000001, mode: reserve }
            """);
        await using var gateway = await GatewayProcess.StartAsync(NativeBinaryFactAttribute.Binary, ["serve", "--config", config, "--urls", "http://127.0.0.1:0"], _directory,
            new Dictionary<string, string> { ["PURSER_NATIVE_POSTGRES"] = postgres.ConnectionString });
        _http.BaseAddress = gateway.BaseAddress;

        var sent = await ServeBothFormatsAsync(KeySecret, "sim-chat", "claude-sim", gateway);
        await AssertRecordedAsync(AdminSecret, "native", sent, refused: 0, gateway);
        var refused = await RefusedInBothFormatsAsync(CappedSecret, "sim-chat", gateway);
        await AssertRecordedAsync(AdminSecret, "capped", refused, refused, gateway);

        // The records are PostgreSQL's (the admin query above flushed the writer), and the ledger saw the spend.
        Assert.Equal(sent + refused, await postgres.ScalarAsync("SELECT count(*) FROM usage_records"));
        using (var budgets = await FixtureSupport.AdminAsync(_http, AdminSecret, HttpMethod.Get, "/admin/budgets", null))
        {
            var body = await budgets.Content.ReadAsStringAsync();
            Assert.True(budgets.IsSuccessStatusCode, body + gateway.Output);
            Assert.Contains("native-daily", body, StringComparison.Ordinal);
        }

        var metrics = await GetTextAsync("/metrics", gateway);
        Assert.Contains("purser_", metrics, StringComparison.Ordinal);
        await gateway.StopAsync();
    }

    private const string AdminSecret = "sk-purser-native-admin-0123456789abcdef";
    private const string KeySecret = "sk-purser-native-key-0123456789abcdef";
    private const string CappedSecret = "sk-purser-native-capped-0123456789abcdef";

    /// <summary>Chat Completions and Messages, whole and streamed, and one Responses call; returns how many requests it sent.</summary>
    private async Task<int> ServeBothFormatsAsync(string key, string openAiModel, string anthropicModel, GatewayProcess gateway)
    {
        var chat = await SendAsync(Requests.Chat(openAiModel, $$"""{"model":"{{openAiModel}}","messages":[{"role":"user","content":"Hello"}]}""", key), HttpStatusCode.OK, gateway);
        Assert.Equal("chat.completion", JsonNode.Parse(chat)!["object"]!.GetValue<string>());
        Assert.True(JsonNode.Parse(chat)!["usage"]!["completion_tokens"]!.GetValue<int>() > 0, chat);

        var chatStream = await SendAsync(Requests.Chat(openAiModel, $$"""{"model":"{{openAiModel}}","stream":true,"messages":[{"role":"user","content":"Hello"}]}""", key), HttpStatusCode.OK, gateway);
        Assert.Contains("chat.completion.chunk", chatStream, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]", chatStream.TrimEnd(), StringComparison.Ordinal);

        // The Anthropic model through the OpenAI format (translated both ways), and the OpenAI one through Messages.
        var translated = await SendAsync(Requests.Chat(anthropicModel, $$"""{"model":"{{anthropicModel}}","messages":[{"role":"user","content":"Hello"}]}""", key), HttpStatusCode.OK, gateway);
        Assert.Equal("chat.completion", JsonNode.Parse(translated)!["object"]!.GetValue<string>());

        var messages = await SendAsync(Requests.Messages($$"""{"model":"{{anthropicModel}}","max_tokens":100,"messages":[{"role":"user","content":"Hello"}]}""", key), HttpStatusCode.OK, gateway);
        Assert.Equal("message", JsonNode.Parse(messages)!["type"]!.GetValue<string>());

        var messagesStream = await SendAsync(Requests.Messages($$"""{"model":"{{openAiModel}}","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Hello"}]}""", key), HttpStatusCode.OK, gateway);
        Assert.Contains("event: message_start", messagesStream, StringComparison.Ordinal);
        Assert.Contains("event: message_stop", messagesStream, StringComparison.Ordinal);

        var response = await SendAsync(Requests.Post("/v1/responses", $$"""{"model":"{{openAiModel}}","input":"Hello","max_output_tokens":64}""", key), HttpStatusCode.OK, gateway);
        Assert.Equal("response", JsonNode.Parse(response)!["object"]!.GetValue<string>());
        Assert.Equal("completed", JsonNode.Parse(response)!["status"]!.GetValue<string>());
        return 6;
    }

    /// <summary>A 402 in each wire format, each in its own error shape; returns how many requests it sent.</summary>
    private async Task<int> RefusedInBothFormatsAsync(string key, string model, GatewayProcess gateway)
    {
        var openAi = await SendAsync(Requests.Chat(model, $$"""{"model":"{{model}}","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}""", key), HttpStatusCode.PaymentRequired, gateway);
        Assert.NotNull(JsonNode.Parse(openAi)!["error"]!["message"]);
        var anthropic = await SendAsync(Requests.Messages($$"""{"model":"{{model}}","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}""", key), HttpStatusCode.PaymentRequired, gateway);
        Assert.Equal("error", JsonNode.Parse(anthropic)!["type"]!.GetValue<string>());
        return 2;
    }

    /// <summary>Exactly <paramref name="expected"/> usage records for the key (the admin query flushes the writer first), 402s included.</summary>
    private async Task AssertRecordedAsync(string admin, string keyId, int expected, int refused, GatewayProcess gateway)
    {
        using var usage = await FixtureSupport.AdminAsync(_http, admin, HttpMethod.Get, "/admin/usage?key_id=" + keyId + "&limit=100", null);
        var body = await usage.Content.ReadAsStringAsync();
        Assert.True(usage.IsSuccessStatusCode, body + gateway.Output);
        var records = JsonNode.Parse(body)!["data"]!.AsArray();
        Assert.True(records.Count == expected, $"{records.Count} usage records for {keyId}, expected {expected}:\n{body}");
        Assert.Equal(refused, records.Count(r => r!["status"]!.GetValue<int>() == 402));
        if (expected > refused)
        {
            Assert.Contains(records, r => r!["operation"]!.GetValue<string>() == "chat" && r["streamed"]!.GetValue<bool>());
        }
    }

    private async Task<string> SendAsync(HttpRequestMessage request, HttpStatusCode expected, GatewayProcess gateway)
    {
        using (request)
        {
            using var response = await _http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == expected, $"{request.RequestUri}: {(int)response.StatusCode} {body}\n{gateway.Output}");
            return body;
        }
    }

    private async Task<string> GetTextAsync(string path, GatewayProcess gateway)
    {
        using var response = await _http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}\n{gateway.Output}");
        return body;
    }

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}
