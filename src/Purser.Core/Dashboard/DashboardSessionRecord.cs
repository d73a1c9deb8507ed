namespace Purser.Dashboard;

/// <summary>One signed-in dashboard session: its id (the nonce sealed in the cookie), the master key it was opened with (a fingerprint of its hash) and when it ends.</summary>
public sealed record DashboardSessionRecord(string Id, string Fingerprint, DateTimeOffset ExpiresAt);
