using System.Diagnostics.CodeAnalysis;

namespace Purser.Budgets;

/// <summary>One scope, written "org:acme", "team:platform", "key:agent-a" or "task:run-42".</summary>
public readonly record struct ScopeRef(ScopeKind Kind, string Id)
{
    public override string ToString() => Prefix(Kind) + Id;

    public static string Prefix(ScopeKind kind) => kind switch
    {
        ScopeKind.Organization => "org:",
        ScopeKind.Team => "team:",
        ScopeKind.Key => "key:",
        ScopeKind.Task => "task:",
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

        foreach (var kind in (ReadOnlySpan<ScopeKind>)[ScopeKind.Organization, ScopeKind.Team, ScopeKind.Key, ScopeKind.Task])
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
