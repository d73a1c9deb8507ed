namespace Purser.Configuration.Sections;

/// <summary>The name and text rules several sections share.</summary>
internal static class ConfigText
{
    /// <summary>The rule of an organisation, team or budget id, as errors state it.</summary>
    internal const string ScopeIdRule = "scope ids are 1-128 characters of A-Z, a-z, 0-9, '.', '_', '-' and ':'";

    internal static bool IsProviderName(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiDigit(c) && !char.IsAsciiLetterLower(c) && c is not ('_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    internal static bool IsKeyId(string id)
    {
        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or '-'))
            {
                return false;
            }
        }

        return id.Length > 0;
    }

    /// <summary>"2027-01-01T00:00:00Z" or "…+02:00": a bare local time would mean different instants on different hosts.</summary>
    internal static bool HasExplicitOffset(string text)
    {
        var t = text.IndexOf('T', StringComparison.OrdinalIgnoreCase);
        if (t < 0)
        {
            return false;
        }

        var time = text.AsSpan(t + 1);
        if (time.EndsWith("Z", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return time.Length >= 6
            && time[^6] is '+' or '-'
            && char.IsAsciiDigit(time[^5]) && char.IsAsciiDigit(time[^4]) && time[^3] == ':'
            && char.IsAsciiDigit(time[^2]) && char.IsAsciiDigit(time[^1]);
    }

    internal static string? ClosestField(string name, string[] allowed)
    {
        string? best = null;
        var bestDistance = 3;
        foreach (var candidate in allowed)
        {
            var distance = EditDistance(name, candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return best;
    }

    internal static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
