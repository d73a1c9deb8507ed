using Purser.Pricing;

namespace Purser.Gateway.Bedtime;

/// <summary>What a watched scope says about one request.</summary>
/// <param name="Tripped">The scope is asleep and tripped: refuse or degrade.</param>
/// <param name="JustTripped">This request's check tripped it (raise the event once).</param>
/// <param name="Woke">A trip ended at its wake time (raise the wake event once).</param>
internal readonly record struct BedtimeOutcome(bool Tripped, bool JustTripped, bool Woke, DateTimeOffset WakeAt, Money Spent, Money Threshold, Money Baseline);
