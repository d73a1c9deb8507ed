namespace Purser.Bench.Scale;

/// <summary>
/// Where the shared budgets stand when a request is admitted, by the driver's exact shadow account: the room left under
/// the tightest cap, in units of the distribution's largest worst case W. The run's phase only moves forward.
/// </summary>
internal enum ScalePhase
{
    /// <summary>Room for at least 100 W: the "away from caps" targets apply.</summary>
    Far = 0,

    /// <summary>Room for at least one W but fewer than 100.</summary>
    Approaching = 1,

    /// <summary>Room for less than one W: at the cap for practical purposes, most requests are refused.</summary>
    Past = 2,
}
