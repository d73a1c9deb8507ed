using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Keys;

namespace Purser.Gateway.Tests.Hosting;

/// <summary>
/// The self-contained binary that scripts/publish.sh produces, installed as the README says: it prints its version,
/// serves the quickstart offline, and its <c>admin-key new</c> and <c>keys hash</c> lines make a configuration file
/// whose admin key and virtual key the gateway it serves accepts.
/// </summary>
[Collection(PublishedPurserCollection.Name)]
public sealed class PublishedBinaryTests : IDisposable
{
    private readonly PublishedPurser _purser;
    private readonly string _workDir = Path.Combine(Path.GetTempPath(), "purser-published-" + Guid.NewGuid().ToString("N"));

    public PublishedBinaryTests(PublishedPurser purser)
    {
        _purser = purser;
        Directory.CreateDirectory(_workDir);
    }

    public void Dispose() => FixtureSupport.DeleteQuietly(_workDir);

    [Fact]
    public async Task The_installed_binary_answers_version_and_serves_the_quickstart()
    {
        Assert.Matches(@"purser \d+\.\d+\.\d+", _purser.InstallOutput);
        var (exit, output) = await _purser.RunBashAsync("purser version", _workDir, TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, output);
        Assert.Matches(@"^purser \d+\.\d+\.\d+", output);

        await using var served = await _purser.ServeAsync("purser --urls http://127.0.0.1:0", _workDir);
        // The key the README reads from the data directory (the banner printing it follows the address).
        var key = (await File.ReadAllTextAsync(Path.Combine(_workDir, "data", "demo-key.txt"))).Trim();
        Assert.StartsWith("sk-purser-", key, StringComparison.Ordinal);
        using var http = new HttpClient { BaseAddress = served.Address };
        using (var ready = await http.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        using (var response = await ChatAsync(http, key))
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            using var json = JsonDocument.Parse(body);
            Assert.Equal("chat.completion", json.RootElement.GetProperty("object").GetString());
        }

        // The dashboard's sign-in page is served from the single file too.
        using (var signIn = await http.GetAsync("/ui/signin"))
        {
            Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        }

        Assert.Equal(0, await served.StopAsync());
        Assert.True(File.Exists(Path.Combine(_workDir, "data", "purser.db")));
    }

    [Fact]
    public async Task Admin_key_new_and_keys_hash_print_what_a_configuration_file_needs()
    {
        var (exit, output) = await _purser.RunBashAsync("purser admin-key new", _workDir, TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, output);
        var adminKey = Regex.Match(output, @"Admin key \(shown once, store it now\): (sk-purser-\S+)").Groups[1].Value;
        var adminHash = Regex.Match(output, @"^  admin_key_hash: (sha256:[0-9a-f]{64})$", RegexOptions.Multiline).Groups[1].Value;
        Assert.Equal(KeyHasher.Hash(adminKey), adminHash);

        // keys hash: the argument form and the standard-input form agree.
        var secret = KeyHasher.NewSecret();
        var (hashExit, hashed) = await _purser.RunBashAsync($"purser keys hash {secret} && echo {secret} | purser keys hash", _workDir, TimeSpan.FromSeconds(60));
        Assert.True(hashExit == 0, hashed);
        var hashes = Regex.Matches(hashed, @"^sha256:[0-9a-f]{64}$", RegexOptions.Multiline).Select(m => m.Value).ToList();
        Assert.Equal([KeyHasher.Hash(secret), KeyHasher.Hash(secret)], hashes);

        // Both lines in a file: the gateway accepts the admin key on /admin and the virtual key on /v1.
        var simulatorConfig = Path.Combine(_workDir, "purser.yaml");
        await using var simulator = await Purser.SimulatedProvider.SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
        await File.WriteAllTextAsync(simulatorConfig, $"""
            server:
              listen: http://127.0.0.1:0
              admin_key_hash: {adminHash}
            storage:
              sqlite_path: {Path.Combine(_workDir, "purser.db")}
            providers:
              sim:
                kind: openai
                base_url: {simulator.BaseAddress.AbsoluteUri.TrimEnd('/')}/v1
                api_key: none
            models:
              sim-chat: {"{"} provider: sim, price: {"{"} input: 1, output: 2 {"}"} {"}"}
            keys:
              - id: ops
                hash: {hashes[0]}
            """);
        await using var served = await _purser.ServeAsync($"purser serve --config {simulatorConfig}", _workDir);
        using var http = new HttpClient { BaseAddress = served.Address };
        using (var chat = await ChatAsync(http, secret))
        {
            Assert.True(chat.IsSuccessStatusCode, await chat.Content.ReadAsStringAsync());
        }

        using var list = new HttpRequestMessage(HttpMethod.Get, "/admin/keys");
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        using var keys = await http.SendAsync(list);
        Assert.Equal(HttpStatusCode.OK, keys.StatusCode);
        Assert.Contains("\"ops\"", await keys.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await served.StopAsync());
    }

    private static async Task<HttpResponseMessage> ChatAsync(HttpClient http, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"sim-chat","messages":[{"role":"user","content":"Hello"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await http.SendAsync(request);
    }
}
