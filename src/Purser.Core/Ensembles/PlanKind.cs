namespace Purser.Ensembles;

public enum PlanKind
{
    /// <summary>Every panel member, then the judge.</summary>
    Full = 0,

    /// <summary>Fewer panel members (never below min_responses), then the judge.</summary>
    Shrunk = 1,

    /// <summary>One call of the degrade target instead of the ensemble.</summary>
    Degrade = 2,

    /// <summary>Refused before any call.</summary>
    Fail = 3,
}
