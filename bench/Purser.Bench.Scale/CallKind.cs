namespace Purser.Bench.Scale;

/// <summary>What made an instance call the PostgreSQL ledger.</summary>
internal enum CallKind
{
    /// <summary>The lease protocol: a counter read, a lease hold, a lease settlement (renewal, idle return, shutdown).</summary>
    Lease = 0,

    /// <summary>A request's own hold or settlement: it passed straight through (no lease could take it).</summary>
    Request = 1,

    /// <summary>The expiry sweep (every 5 s per instance).</summary>
    Sweep = 2,
}
