using System.Text;

namespace Purser.Configuration;

/// <summary>
/// Expands <c>${NAME}</c> and <c>${NAME:-default}</c> in a scalar (default used when NAME is unset or empty,
/// as in POSIX shells). <c>$${</c> is a literal <c>${</c>. Problems name the variable, never a value.
/// </summary>
internal static class EnvInterpolation
{
    /// <returns>The expanded text, or null when a variable is unset or a reference is malformed.</returns>
    public static string? Expand(string raw, Func<string, string?> environment, List<string> variables, List<string> problems)
    {
        var start = raw.IndexOf('$', StringComparison.Ordinal);
        if (start < 0)
        {
            return raw;
        }

        var result = new StringBuilder(raw.Length);
        var ok = true;
        var i = 0;
        while (i < raw.Length)
        {
            var c = raw[i];
            if (c != '$' || i + 1 >= raw.Length)
            {
                result.Append(c);
                i++;
                continue;
            }

            if (raw[i + 1] == '$' && i + 2 < raw.Length && raw[i + 2] == '{')
            {
                result.Append("${");
                i += 3;
                continue;
            }

            if (raw[i + 1] != '{')
            {
                result.Append(c);
                i++;
                continue;
            }

            var close = raw.IndexOf('}', i + 2);
            if (close < 0)
            {
                problems.Add("'${' without a closing '}'");
                return null;
            }

            var body = raw.AsSpan(i + 2, close - i - 2);
            var separator = body.IndexOf(":-", StringComparison.Ordinal);
            var name = separator < 0 ? body : body[..separator];
            if (!IsVariableName(name))
            {
                problems.Add("'${...}' must contain a variable name made of letters, digits and '_'");
                ok = false;
                i = close + 1;
                continue;
            }

            var nameText = name.ToString();
            variables.Add(nameText);
            var value = environment(nameText);
            if (separator >= 0)
            {
                result.Append(string.IsNullOrEmpty(value) ? body[(separator + 2)..] : value);
            }
            else if (value is null)
            {
                problems.Add($"environment variable '{nameText}' is not set (write ${{{nameText}:-default}} to allow that)");
                ok = false;
            }
            else
            {
                result.Append(value);
            }

            i = close + 1;
        }

        return ok ? result.ToString() : null;
    }

    private static bool IsVariableName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }
}
