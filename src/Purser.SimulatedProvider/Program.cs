using Purser.SimulatedProvider;

string url = "http://127.0.0.1:8089";
for (int i = 0; i < args.Length - 1; i++)
{
    if (args[i] is "--urls" or "--url")
    {
        // Kestrel accepts a ';'-separated list; the simulator listens on the first.
        url = args[i + 1].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
    }
}

await using SimulatedProviderServer server = await SimulatedProviderServer.StartAsync(url);
Console.WriteLine($"simulated provider listening on {server.BaseAddress.ToString().TrimEnd('/')}");

// The host's console lifetime turns Ctrl+C and SIGTERM into a stop; wait for that.
var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using (server.Stopping.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), stopped))
{
    await stopped.Task;
}
