namespace Purser.Ensembles;

/// <summary>
/// What the pre-flight decided. <see cref="Panel"/> holds the indices (in panel order) of the members to call;
/// <see cref="Projection"/> is the worst case of what will run (the whole ensemble, or the degrade target alone),
/// which is what the caller's budgets hold. <see cref="Cap"/> names the cap that forced a shrink, degrade or failure.
/// </summary>
public sealed record EnsemblePlan(PlanKind Kind, IReadOnlyList<int> Panel, CallEstimate Projection, CallEstimate Judge, string? Cap, string? Message);
