using System.Net.Http.Headers;
using System.Text;
using Purser.Gateway.Hosting;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Cli;

/// <summary>
/// The operator commands as real <c>purser</c> processes against a quickstart gateway started here: what they print,
/// their exit codes, and clear messages when the gateway refuses.
/// </summary>
public sealed class OperatorCliTests : IAsyncLifetime
{
    private readonly string _workDir = Path.Combine(Path.GetTempPath(), "purser-cli-" + Guid.NewGuid().ToString("N"));
    private GatewayHost _gateway = null!;

    private string Url => _gateway.BaseAddress.AbsoluteUri;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_workDir);
        _gateway = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = Path.Combine(_workDir, "data"),
            MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        });
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        try
        {
            Directory.Delete(_workDir, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory: harmless.
        }
    }

    [Fact]
    public async Task Keys_create_prints_the_secret_once_list_shows_the_key_and_revoke_refuses_it_from_then_on()
    {
        var created = await Admin("keys", "create", "cli-bot", "--models", "sim-chat", "--no-such-option");
        Assert.Equal(1, created.ExitCode);
        Assert.Contains("--no-such-option", created.Error, StringComparison.Ordinal);

        created = await Admin("keys", "create", "cli-bot", "--models", "sim-chat");
        Assert.True(created.ExitCode == 0, created.Error);
        var secret = created.Output.Split("Secret (shown once, store it now): ")[1].Trim();
        Assert.StartsWith("sk-", secret, StringComparison.Ordinal);
        Assert.Equal(200, await ChatStatusAsync(secret));

        var list = await Admin("keys", "list");
        Assert.Equal(0, list.ExitCode);
        var row = list.Output.Split('\n').Single(l => l.StartsWith("cli-bot ", StringComparison.Ordinal));
        Assert.Contains("sim-chat", row, StringComparison.Ordinal);
        Assert.Contains("api", row, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, list.Output, StringComparison.Ordinal);

        var revoked = await Admin("keys", "revoke", "cli-bot");
        Assert.Equal(0, revoked.ExitCode);
        Assert.Contains("Revoked key 'cli-bot'", revoked.Output, StringComparison.Ordinal);
        Assert.Equal(401, await ChatStatusAsync(secret));
    }

    [Fact]
    public async Task Revoking_an_unknown_key_exits_1_with_the_gateways_reason()
    {
        var result = await Admin("keys", "revoke", "no-such-key");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error: No active key 'no-such-key'", result.Error, StringComparison.Ordinal);
        Assert.Contains("HTTP 404", result.Error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Output);
    }

    [Fact]
    public async Task A_wrong_admin_key_exits_1_saying_the_key_was_refused()
    {
        var result = await PurserProcess.RunAsync(_workDir, "keys", "list", "--url", Url, "--admin-key", "sk-wrong");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("the gateway refused the admin key (HTTP 401)", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_an_admin_key_exits_2_naming_the_option_and_the_variable()
    {
        var result = await PurserProcess.RunAsync(_workDir, "budgets", "list", "--url", Url);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--admin-key or set PURSER_ADMIN_KEY", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_admin_key_is_taken_from_PURSER_ADMIN_KEY_and_budgets_set_then_list_shows_the_cap()
    {
        var env = new Dictionary<string, string> { ["PURSER_ADMIN_KEY"] = _gateway.AdminKey!, ["PURSER_URL"] = Url };
        var set = await PurserProcess.RunAsync(_workDir, env, "budgets", "set", "demo-monthly", "--scope", "key:demo", "--cap-usd", "12.50", "--window", "monthly");
        Assert.True(set.ExitCode == 0, set.Error);
        Assert.Contains("Budget 'demo-monthly' on key:demo: monthly cap $12.5", set.Output, StringComparison.Ordinal);

        var list = await PurserProcess.RunAsync(_workDir, env, "budgets", "list");
        Assert.Equal(0, list.ExitCode);
        var lines = list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ID ", lines[0], StringComparison.Ordinal);
        var row = lines.Single(l => l.StartsWith("demo-monthly ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["demo-monthly", "key:demo", "monthly", "12.5", "0", "0", "12.5", "-", "hard", "reserve", "api"], row);

        var bad = await PurserProcess.RunAsync(_workDir, env, "budgets", "set", "bad", "--scope", "key:demo", "--cap-usd", "lots");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("cap_usd", bad.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Limits_set_list_and_delete_a_rate_limit_and_a_wrong_field_exits_1_naming_it()
    {
        var set = await Admin("limits", "set", "demo-rpm", "--scope", "key:demo", "--rpm", "60", "--max-concurrent", "4");
        Assert.True(set.ExitCode == 0, set.Error);
        Assert.Contains("Rate limit 'demo-rpm' on key:demo: rpm 60, tpm -, max concurrent 4.", set.Output, StringComparison.Ordinal);

        var list = await Admin("limits", "list");
        Assert.Equal(0, list.ExitCode);
        var row = list.Output.Split('\n').Single(l => l.StartsWith("demo-rpm ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["demo-rpm", "key:demo", "-", "60", "-", "4", "0", "api"], row);

        var bad = await Admin("limits", "set", "bad", "--scope", "key:demo", "--rpm", "0");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("requests_per_minute", bad.Error, StringComparison.Ordinal);

        var deleted = await Admin("limits", "delete", "demo-rpm");
        Assert.True(deleted.ExitCode == 0, deleted.Error);
        var again = await Admin("limits", "delete", "demo-rpm");
        Assert.Equal(1, again.ExitCode);
    }

    [Fact]
    public async Task Budgets_set_takes_an_end_user_template_and_budgets_users_lists_its_end_users()
    {
        var set = await Admin("budgets", "set", "demo-users", "--scope", "user:*", "--under", "key:demo", "--window", "rolling_24h", "--cap-usd", "1");
        Assert.True(set.ExitCode == 0, set.Error);
        Assert.Contains("on user:*: rolling_24h cap $1", set.Output, StringComparison.Ordinal);

        Assert.Equal(200, await ChatStatusAsync(_gateway.DemoKey!, "alice"));
        Assert.Equal(200, await ChatStatusAsync(_gateway.DemoKey!, "alice"));
        Assert.Equal(200, await ChatStatusAsync(_gateway.DemoKey!, "bob"));

        var users = await Admin("budgets", "users", "demo-users");
        Assert.True(users.ExitCode == 0, users.Error);
        var lines = users.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("END_USER ", lines[0], StringComparison.Ordinal);
        Assert.Equal(["alice", "bob"], lines.Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]));

        var missing = await Admin("budgets", "users", "no-such-budget");
        Assert.Equal(1, missing.ExitCode);
    }

    [Fact]
    public async Task Bedtime_wake_of_a_scope_without_a_policy_exits_1_with_a_clear_message()
    {
        var result = await Admin("bedtime", "wake", "key:demo");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("'key:demo' has no bedtime policy", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Spend_prints_today_by_key_and_by_model_with_the_exact_cost_of_the_requests()
    {
        Assert.Equal(200, await ChatStatusAsync(_gateway.DemoKey!));
        Assert.Equal(200, await ChatStatusAsync(_gateway.DemoKey!));
        await _gateway.FlushUsageAsync();
        var records = await _gateway.Usage.QueryAsync(new Purser.Usage.UsageQuery(), CancellationToken.None);
        Assert.Equal(2, records.Count);
        var total = records[0].Cost + records[1].Cost;
        var input = records.Sum(r => r.Tokens.InputTokens);
        var output = records.Sum(r => r.Tokens.OutputTokens);

        var result = await Admin("spend", "--period", "today");
        Assert.True(result.ExitCode == 0, result.Error);
        var lines = result.Output.Split('\n');
        Assert.StartsWith("Spend from ", lines[0], StringComparison.Ordinal);
        var keyRow = lines.Single(l => l.StartsWith("demo ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["demo", "2", input.ToString(System.Globalization.CultureInfo.InvariantCulture), output.ToString(System.Globalization.CultureInfo.InvariantCulture)], keyRow[..4]);
        Assert.Equal(total, Money(keyRow[4]));
        var modelRow = lines.Single(l => l.StartsWith("sim-chat ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("2", modelRow[1]);
        Assert.Equal(total, Money(modelRow[4]));
        Assert.Equal(2, lines.Count(l => l.StartsWith("TOTAL ", StringComparison.Ordinal)));

        // A period with nothing in it: only the totals, at zero.
        var empty = await Admin("spend", "--from", "2001-01-01", "--to", "2001-02-01");
        Assert.Equal(0, empty.ExitCode);
        Assert.Contains("Spend from 2001-01-01T00:00:00Z to 2001-02-01T00:00:00Z", empty.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("demo", empty.Output, StringComparison.Ordinal);
        Assert.Contains("0.00", empty.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_lists_every_error_with_its_line_and_exits_1()
    {
        var path = Path.Combine(_workDir, "bad.yaml");
        await File.WriteAllTextAsync(path, """
            server:
              listen: not-a-url
            models:
              a: { provider: nowhere }
            telemetry:
              log_format: xml
            """);
        var result = await PurserProcess.RunAsync(_workDir, "validate", path);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"{path}:2: server.listen", result.Error, StringComparison.Ordinal);
        Assert.Contains($"{path}:4: models.a", result.Error, StringComparison.Ordinal);
        Assert.Contains($"{path}:6: telemetry.log_format: expected 'text' or 'json'", result.Error, StringComparison.Ordinal);
        Assert.Contains("3 errors", result.Error, StringComparison.Ordinal);

        var good = Path.Combine(_workDir, "good.yaml");
        await File.WriteAllTextAsync(good, "telemetry: { log_format: json, otlp_endpoint: http://127.0.0.1:4317 }\n");
        var ok = await PurserProcess.RunAsync(_workDir, "validate", good);
        Assert.True(ok.ExitCode == 0, ok.Error);
        Assert.Contains("valid", ok.Output, StringComparison.Ordinal);
    }

    private static Purser.Pricing.Money Money(string text) =>
        Purser.Pricing.Money.TryParseUsd(text, out var m) ? m : throw new FormatException(text);

    private Task<(int ExitCode, string Output, string Error)> Admin(params string[] args) =>
        PurserProcess.RunAsync(_workDir, [.. args, "--url", Url, "--admin-key", _gateway.AdminKey!]);

    private async Task<int> ChatStatusAsync(string key, string? endUser = null)
    {
        using var http = new HttpClient { BaseAddress = _gateway.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"sim-chat","messages":[{"role":"user","content":"Hello"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (endUser is not null)
        {
            request.Headers.Add("x-budget-user", endUser);
        }

        using var response = await http.SendAsync(request);
        return (int)response.StatusCode;
    }
}
