namespace Purser.Bench.Scale;

/// <summary>
/// Where the shared budgets stand when a request is admitted, by the driver's exact shadow account: the room left under
/// the tightest cap, against half that cap and against the distribution's largest worst case W. The run's phase only
/// moves forward.
/// </summary>
internal enum ScalePhase
{
    /// <summary>Room for at least half the cap: "away from caps", where the transactions-per-request target applies.</summary>
    Away = 0,

    /// <summary>Less than half the cap, but room for at least 100 W: the false-refusal target still applies.</summary>
    Near = 1,

    /// <summary>Room for at least one W but fewer than 100.</summary>
    Closing = 2,

    /// <summary>Room for less than one W: at the cap for practical purposes, most requests are refused.</summary>
    Past = 3,
}
