using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Purser.Keys;
using Purser.SimulatedProvider;

namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// Two gateway processes (A and B), each with its own config file and SQLite file, on one fresh PostgreSQL database,
/// fronting one simulated provider; with the admin API enabled under <see cref="AdminSecret"/>.
/// </summary>
internal sealed class TwoGateways : IAsyncDisposable
{
    public const string AdminSecret = "purser-admin-propagation";

    private readonly string _directory;
    private readonly SimulatedProviderServer _simulator;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private TwoGateways(string directory, SimulatedProviderServer simulator, TestPostgres postgres, GatewayProcess a, GatewayProcess b)
    {
        _directory = directory;
        _simulator = simulator;
        Postgres = postgres;
        A = a;
        B = b;
    }

    public GatewayProcess A { get; }

    public GatewayProcess B { get; }

    public TestPostgres Postgres { get; }

    public HttpClient Http => _http;

    public static async Task<TwoGateways> StartAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "purser-two-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
        var postgres = await TestPostgres.CreateOnSharedServerAsync();
        var sim = simulator.BaseAddress.AbsoluteUri.TrimEnd('/');
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(postgres.ConnectionString) { MaxPoolSize = 10, Timeout = 5 }.ConnectionString;
        var started = await Task.WhenAll(Enumerable.Range(0, 2).Select(async i =>
        {
            var path = ConfigPath(directory, i);
            await File.WriteAllTextAsync(path, Config(sim, i, KeyHasher.Hash(AdminSecret)));
            return await GatewayProcess.StartAsync(path, new Dictionary<string, string> { ["PURSER_TWO_POSTGRES"] = connection, ["PURSER_TWO_SIM"] = sim });
        }));
        var gateways = new TwoGateways(directory, simulator, postgres, started[0], started[1]);

        // Each listener reloads once it listens; from then on an announcement reaches it.
        await WaitForLogAsync(gateways.A, "Listening for operators' changes");
        await WaitForLogAsync(gateways.B, "Listening for operators' changes");
        return gateways;
    }

    /// <summary>Rewrites instance <paramref name="instance"/>'s config file with another master key (it reloads by itself).</summary>
    public Task RotateAdminKeyAsync(int instance, string newSecret) =>
        File.WriteAllTextAsync(ConfigPath(_directory, instance), Config(_simulator.BaseAddress.AbsoluteUri.TrimEnd('/'), instance, KeyHasher.Hash(newSecret)));

    public async Task<JsonNode> AdminAsync(GatewayProcess gateway, HttpMethod method, string path, JsonObject? body, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, new Uri(gateway.BaseAddress, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminSecret);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    public static async Task WaitForLogAsync(GatewayProcess gateway, string text)
    {
        for (var i = 0; i < 400 && !gateway.Output.Contains(text, StringComparison.Ordinal); i++)
        {
            await Poll.NextAsync(25);
        }

        Assert.True(gateway.Output.Contains(text, StringComparison.Ordinal), $"no '{text}' in the log:\n{gateway.Output}");
    }

    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        await Postgres.DisposeAsync();
        await _simulator.DisposeAsync();
        _http.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static string ConfigPath(string directory, int instance) => Path.Combine(directory, $"purser-{instance}.yaml");

    private static string Config(string sim, int instance, string adminKeyHash) => $$"""
        organization: acme
        server:
          listen: http://127.0.0.1:0
          admin_key_hash: {{adminKeyHash}}
        storage:
          sqlite_path: local-{{instance}}.db
          postgres: ${PURSER_TWO_POSTGRES}
        providers:
          sim: { kind: openai, base_url: "{{sim}}/v1", api_key: sim }
        models:
          sim-chat: { provider: sim, upstream: "sim-chat~out=8", price: { input: 0.5, output: 1.5 } }
        """;
}
