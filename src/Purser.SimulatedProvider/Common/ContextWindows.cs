namespace Purser.SimulatedProvider.Common;

/// <summary>
/// The input the simulated models accept, as the providers publish it; a request above it is refused with 400 and
/// nothing billed ("prompt is too long"), as the providers do. Claude Sonnet 4 and 4.5 take 1M tokens with the
/// <c>context-1m-2025-08-07</c> beta, billed above 200K input tokens at the long-context rate (which the gateway
/// prices from the reported input: there is no separate usage field). Unknown models have no limit.
/// </summary>
internal static class ContextWindows
{
    public const string Context1MBeta = "context-1m-2025-08-07";

    public static long? Of(string model, bool context1M)
    {
        if (model.StartsWith("claude-sonnet-4", StringComparison.Ordinal) || model == "claude-sim")
        {
            return context1M ? 1_000_000 : 200_000;
        }

        return model switch
        {
            _ when model.StartsWith("claude-", StringComparison.Ordinal) => 200_000,
            _ when model.StartsWith("gpt-4.1", StringComparison.Ordinal) => 1_047_576,
            _ when model.StartsWith("gpt-5", StringComparison.Ordinal) => 400_000,
            _ when model.StartsWith("gpt-4o", StringComparison.Ordinal) => 128_000,
            _ when model.StartsWith("o1", StringComparison.Ordinal) || model.StartsWith("o3", StringComparison.Ordinal) => 200_000,
            _ => null,
        };
    }
}
