using Purser.Keys;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Who a request is for, resolved once from its key, its headers and (for a key that trusts it) its body: the key and
/// its team, the end user, the tags and the task. Budgets choose their counters from it; a per-caller limit can key
/// on the same values (for example one counter per end user of a <c>user:*</c> template).
/// </summary>
internal sealed record CallerContext(string KeyId, string? Team, string? EndUser, IReadOnlyList<string> Tags, string? TaskId)
{
    public static CallerContext Of(VirtualKey key, in BudgetRequestHeaders headers) =>
        new(key.Id, key.Team, headers.EndUser, headers.Tags, headers.TaskId);

    /// <summary>The tags as the usage record keeps them: comma-separated, null for none.</summary>
    public string? TagList => Tags.Count == 0 ? null : string.Join(',', Tags);
}
