namespace Purser.Usage;

/// <summary>
/// The processing tier a call was served at (OpenAI's <c>service_tier</c>: <c>default</c>, <c>priority</c>,
/// <c>flex</c>, <c>batch</c>). <see cref="Default"/> is zero so that an unset tier is the standard rate.
/// </summary>
public enum ServiceTier
{
    Default = 0,
    Priority = 1,
    Flex = 2,
    Batch = 3,
}

/// <summary>Parsing and ordering of <see cref="ServiceTier"/>.</summary>
public static class ServiceTiers
{
    /// <summary>The dearer of two tiers: priority, then default, then flex and batch (both half price).</summary>
    public static ServiceTier Dearer(ServiceTier a, ServiceTier b) => Rank(a) >= Rank(b) ? a : b;

    /// <summary>The tier a provider names in a response or request; null for a name that is not a known tier.</summary>
    public static ServiceTier? Parse(string? name) => name switch
    {
        null or "default" or "auto" or "standard" or "standard_only" or "scale" => ServiceTier.Default,
        "priority" => ServiceTier.Priority,
        "flex" => ServiceTier.Flex,
        "batch" => ServiceTier.Batch,
        _ => null,
    };

    public static string Name(ServiceTier tier) => tier switch
    {
        ServiceTier.Priority => "priority",
        ServiceTier.Flex => "flex",
        ServiceTier.Batch => "batch",
        _ => "default",
    };

    private static int Rank(ServiceTier tier) => tier switch
    {
        ServiceTier.Priority => 3,
        ServiceTier.Default => 2,
        ServiceTier.Flex => 1,
        _ => 0,
    };
}
