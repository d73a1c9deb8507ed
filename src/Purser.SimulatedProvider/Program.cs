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

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.TrySetResult();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();

await using SimulatedProviderServer server = await SimulatedProviderServer.StartAsync(url);
Console.WriteLine($"simulated provider listening on {server.BaseAddress.ToString().TrimEnd('/')}");
await stop.Task;
