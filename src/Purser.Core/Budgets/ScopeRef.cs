using System.Diagnostics.CodeAnalysis;

namespace Purser.Budgets;

/// <summary>
/// One scope, written "org:acme", "team:platform", "key:agent-a", "task:run-42", "global", "tag:batch" or "user:*"
/// (the end-user template: every end user gets a counter of their own, named by <c>x-budget-user</c>).
/// </summary>
public readonly record struct ScopeRef(ScopeKind Kind, string Id)
{
    public const string GlobalText = "global";

    /// <summary>The one end-user scope a budget may name: a template, not one user.</summary>
    public static readonly ScopeRef EndUserTemplate = new(ScopeKind.EndUser, "*");

    public static readonly ScopeRef Global = new(ScopeKind.Global, "");

    public override string ToString() => Kind == ScopeKind.Global ? GlobalText : Prefix(Kind) + Id;

    public static string Prefix(ScopeKind kind) => kind switch
    {
        ScopeKind.Organization => "org:",
        ScopeKind.Team => "team:",
        ScopeKind.Key => "key:",
        ScopeKind.Task => "task:",
        ScopeKind.Global => GlobalText,
        ScopeKind.Tag => "tag:",
        ScopeKind.EndUser => "user:",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Scope ids: 1–128 characters of letters, digits, '.', '_', '-' and ':'.</summary>
    public static bool IsValidId(ReadOnlySpan<char> id)
    {
        if (id.IsEmpty || id.Length > 128)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':'))
            {
                return false;
            }
        }

        return true;
    }

    public static bool TryParse(string? text, [NotNullWhen(true)] out ScopeRef? scope)
    {
        scope = null;
        if (text is null)
        {
            return false;
        }

        if (string.Equals(text, GlobalText, StringComparison.Ordinal))
        {
            scope = Global;
            return true;
        }

        if (string.Equals(text, "user:*", StringComparison.Ordinal))
        {
            scope = EndUserTemplate;
            return true;
        }

        foreach (var kind in (ReadOnlySpan<ScopeKind>)[ScopeKind.Organization, ScopeKind.Team, ScopeKind.Key, ScopeKind.Task, ScopeKind.Tag])
        {
            var prefix = Prefix(kind);
            if (text.StartsWith(prefix, StringComparison.Ordinal) && IsValidId(text.AsSpan(prefix.Length)))
            {
                scope = new ScopeRef(kind, text[prefix.Length..]);
                return true;
            }
        }

        return false;
    }
}
