namespace Purser.Gateway.Responses;

/// <summary>
/// How a background response's open hold is written in its route: <c>held:&lt;hold id&gt;</c> when the ledger holds it
/// (and must be settled), <c>unheld:&lt;hold id&gt;</c> when no budget was on the path (the retrieval only records the cost).
/// </summary>
internal static class PendingHold
{
    private const string Held = "held:";
    private const string Unheld = "unheld:";

    public static string Encode(Budgets.Admission admission) => (admission.Held ? Held : Unheld) + admission.HoldId;

    /// <summary>True, with the ledger's hold id, when the pending hold is in the ledger.</summary>
    public static bool Decode(string pending, out string holdId)
    {
        if (pending.StartsWith(Held, StringComparison.Ordinal))
        {
            holdId = pending[Held.Length..];
            return true;
        }

        holdId = "";
        return false;
    }
}
