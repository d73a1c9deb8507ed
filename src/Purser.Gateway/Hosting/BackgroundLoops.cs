namespace Purser.Gateway.Hosting;

/// <summary>
/// Owns the stores' background loops (Purser.Core and the stores have no hosting dependency, so each loop has an
/// explicit <c>Start</c> and a draining disposal): the usage writer, PostgreSQL's settlement retry and the lease flush.
/// Registered before every other hosted service, it starts them first and stops them last, after the server and the
/// other loops (which may still record usage or settle holds) have stopped: usage records drained first, then the leases
/// returned into the ledger, then the pending settlements tried once more (<see cref="GatewayStorage.StopLoopsAsync"/>).
/// The databases close later, when the host disposes the storage.
/// </summary>
internal sealed class BackgroundLoops(GatewayStorage storage) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        storage.StartLoops();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => storage.StopLoopsAsync().WaitAsync(cancellationToken);
}
