namespace Purser.Bench.Scale;

/// <summary>
/// Where the shared budgets stand when a request is admitted, by the driver's exact shadow account: the room left under
/// the tightest cap, against half that cap and against the distribution's largest worst case W (after a start-up phase
/// of a fixed number of requests). The run's phase only moves forward.
/// </summary>
internal enum ScalePhase
{
    /// <summary>The first requests (ten per request loop), far from the caps: every instance takes its first leases.</summary>
    Start = 0,

    /// <summary>Room for at least half the cap, after the start: "away from caps", where the transactions-per-request target applies.</summary>
    Away = 1,

    /// <summary>Less than half the cap, but room for at least 100 W: the false-refusal target still applies.</summary>
    Near = 2,

    /// <summary>Room for at least one W but fewer than 100.</summary>
    Closing = 3,

    /// <summary>Room for less than one W: at the cap for practical purposes, most requests are refused.</summary>
    Past = 4,
}
