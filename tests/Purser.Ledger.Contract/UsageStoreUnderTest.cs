using Purser.Usage;

namespace Purser.Ledger.Contract;

/// <summary>One usage store seen through each of its roles (both stores implement them all on one object).</summary>
public sealed record UsageStoreUnderTest(IUsageSink Sink, IUsageStore Store, IUsageExport Export, IAsyncDisposable Owner)
{
    public static UsageStoreUnderTest Of<T>(T store)
        where T : IUsageSink, IUsageStore, IUsageExport, IAsyncDisposable =>
        new(store, store, store, store);
}
