using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Purser.Gateway.Hosting;
using Purser.SimulatedProvider;

namespace Purser.Gateway.Tests.Infrastructure;

/// <summary>What every gateway fixture does the same way: admin calls with the master key, and tearing down.</summary>
internal static class FixtureSupport
{
    /// <summary>An admin API call with <paramref name="adminSecret"/> as the bearer, the body as JSON when there is one.</summary>
    public static Task<HttpResponseMessage> AdminAsync(HttpClient http, string adminSecret, HttpMethod method, string path, JsonObject? body)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminSecret);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        return http.SendAsync(request);
    }

    /// <summary>Stops the gateway (when not already stopped) and the simulator, and deletes the fixture's directory.</summary>
    public static async Task TearDownAsync(HttpClient http, GatewayHost? gateway, SimulatedProviderServer? simulator, string directory)
    {
        http.Dispose();
        if (gateway is not null)
        {
            await gateway.DisposeAsync();
        }

        if (simulator is not null)
        {
            await simulator.DisposeAsync();
        }

        DeleteQuietly(directory);
    }

    /// <summary>Deletes a test's temporary directory; leftovers a process still holds open are harmless.</summary>
    public static void DeleteQuietly(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Harmless leftovers in the temp directory.
        }
    }
}
