using System.Net;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Ensembles;

/// <summary>A bad ensemble or route is refused at load with the field named, and the last good configuration keeps serving.</summary>
public sealed class EnsembleReloadTests : IAsyncLifetime
{
    private readonly EnsembleFixture _fixture = new();

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task Unknown_members_cycles_and_an_oversized_min_responses_are_refused_and_the_old_ensembles_keep_serving()
    {
        var bad = _fixture.ConfigText
            .Replace("failover2: { targets: [broken2, pb] }", "failover2: { targets: [broken2, loop] }\n  loop: { targets: [failover2] }", StringComparison.Ordinal)
            .Replace("full: { panel: [{ model: pa, temperature: 0.2, seed: 7 }", "full: { min_responses: 5, panel: [ghost, { model: pa, temperature: 0.2, seed: 7 }", StringComparison.Ordinal);
        await File.WriteAllTextAsync(_fixture.ConfigPath, bad);

        var errors = _fixture.Gateway.ReloadConfiguration();

        var listed = string.Join("\n", errors);
        Assert.Contains(errors, e => e.Field == "ensembles.full.panel[0]" && e.Line is > 0 && e.Message.Contains("'ghost'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Field == "ensembles.full.min_responses");
        Assert.True(errors.Any(e => e.Field == "routes.loop.targets" && e.Message.Contains("alias cycle", StringComparison.Ordinal)), listed);

        var secret = await _fixture.CreateKeyAsync("reload-full");
        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, EnsembleFixture.ChatBody("full", 50)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("pa,pb,pc", response.Headers.GetValues("x-ensemble-panel").Single());
    }
}
