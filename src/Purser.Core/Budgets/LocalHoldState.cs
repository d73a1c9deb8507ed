namespace Purser.Budgets;

/// <summary>Where a request's local hold on its leases stands.</summary>
internal enum LocalHoldState
{
    Held,
    Settled,
    Expired,
    Corrected,
}
