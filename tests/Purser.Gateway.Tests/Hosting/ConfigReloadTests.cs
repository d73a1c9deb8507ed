using System.Net;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Hosting;

/// <summary>The configuration file reloads without a restart; an invalid file leaves the last good one serving.</summary>
public sealed class ConfigReloadTests : IAsyncLifetime
{
    private readonly GatewayFixture _fixture = new();

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    private Task<HttpResponseMessage> AskAsync(string model) =>
        _fixture.Http.SendAsync(Requests.Chat(model, $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}"""));

    [Fact]
    public async Task Editing_the_file_adds_a_model_without_a_restart()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await AskAsync("sim-new")).StatusCode);

        await File.WriteAllTextAsync(_fixture.ConfigPath, _fixture.Config("  sim-new: { provider: sim-openai, upstream: sim-chat }"));

        // The file watcher reloads after a short debounce; poll a bounded number of times.
        for (var attempt = 0; (await AskAsync("sim-new")).StatusCode != HttpStatusCode.OK; attempt++)
        {
            Assert.True(attempt < 100, "the new model was not served within 10 s");
            await Poll.NextAsync(100);
        }
    }

    [Fact]
    public async Task An_invalid_file_is_rejected_with_every_error_and_the_last_good_configuration_keeps_serving()
    {
        await File.WriteAllTextAsync(_fixture.ConfigPath, _fixture.Config("  broken: { provider: nowhere }\n  worse: { provider: sim-openai, kind: sideways }"));

        var errors = _fixture.Gateway.ReloadConfiguration();

        var listed = string.Join("\n", errors);
        Assert.True(errors.Count >= 2, listed);
        Assert.True(errors.Any(e => e.Field.Contains("broken", StringComparison.Ordinal) && e.Line is > 0), listed);
        Assert.True(errors.Any(e => e.Field.Contains("worse", StringComparison.Ordinal)), listed);
        using var response = await AskAsync("sim-chat");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }
}
