namespace Purser.RateLimits;

/// <summary>What a take from a shared bucket granted, and the whole units the bucket held after it.</summary>
public readonly record struct RateSlice(long Granted, long Left);
