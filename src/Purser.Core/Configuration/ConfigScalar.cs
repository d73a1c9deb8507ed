namespace Purser.Configuration;

/// <summary>A scalar after <c>${VAR}</c> expansion, remembering where it came from so errors can point at it without echoing it.</summary>
/// <param name="Variables">The variables it was built from, e.g. "${A}, ${B}"; null when written literally.</param>
internal readonly record struct ConfigScalar(string Value, long Line, string? Variables)
{
    /// <summary>How an error may quote the value: literally when the file says it, by variable name when the environment does.</summary>
    public string Describe() => Variables is null ? $"'{Value}'" : $"the value of {Variables}";
}
