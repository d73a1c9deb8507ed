using System.Net;

namespace Purser.Gateway.Tests.Infrastructure;

/// <summary>Fires a bounded number of requests at once and counts the answers a budget may give: 200 or 402.</summary>
internal static class ConcurrentCalls
{
    /// <summary>Sends <paramref name="count"/> requests, at most <paramref name="parallelism"/> in flight; any other status fails the test.</summary>
    public static async Task<(int Ok, int Refused)> FireAsync(HttpClient http, int count, Func<int, HttpRequestMessage> request, int parallelism = 64)
    {
        var ok = 0;
        var refused = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (i, ct) =>
        {
            using var response = await http.SendAsync(request(i), ct);
            _ = await response.Content.ReadAsStringAsync(ct);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Interlocked.Increment(ref ok);
            }
            else
            {
                Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
                Interlocked.Increment(ref refused);
            }
        });
        return (ok, refused);
    }
}
