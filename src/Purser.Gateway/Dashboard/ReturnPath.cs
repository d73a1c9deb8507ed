using System.Text;

namespace Purser.Gateway.Dashboard;

/// <summary>
/// Where sign-in sends the operator back to. The value comes from a link anyone can craft, so only a path inside the
/// dashboard is followed (an open redirect would let a link send a freshly signed-in operator anywhere) and the
/// answer is always a valid ASCII Location header: non-ASCII is percent-encoded as UTF-8 (Kestrel refuses a raw
/// non-ASCII header with a 500), and anything else doubtful falls back to the overview.
/// </summary>
internal static class ReturnPath
{
    public const string Fallback = "/ui";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// <paramref name="requested"/> made safe: a local absolute path under <c>/ui</c> (not sign-in itself, no scheme,
    /// no <c>//</c> or backslash that a browser could read as another host, no dot segments, no control characters),
    /// else <see cref="Fallback"/>.
    /// </summary>
    public static string Safe(string? requested)
    {
        if (string.IsNullOrEmpty(requested) || requested.Length > 2048 || !IsDashboardPath(requested))
        {
            return Fallback;
        }

        var encoded = new StringBuilder(requested.Length + 16);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < requested.Length; i++)
        {
            var c = requested[i];
            if (c < 0x20 || c == 0x7F || c == '\\')
            {
                return Fallback;
            }

            if (c < 0x80)
            {
                // Space, quotes and the like are legal in a header but not in a URL: encoded the same way.
                if (char.IsAsciiLetterOrDigit(c) || "-._~:/?#[]@!$&'()*+,;=%".Contains(c, StringComparison.Ordinal))
                {
                    encoded.Append(c);
                }
                else
                {
                    encoded.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
                }

                continue;
            }

            // One scalar (a surrogate pair counts once); a lone surrogate is not text and cannot be encoded.
            var length = char.IsHighSurrogate(c) && i + 1 < requested.Length ? 2 : 1;
            int written;
            try
            {
                written = StrictUtf8.GetBytes(requested.AsSpan(i, length), utf8);
            }
            catch (EncoderFallbackException)
            {
                return Fallback;
            }

            foreach (var b in utf8[..written])
            {
                encoded.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }

            i += length - 1;
        }

        return encoded.ToString();
    }

    private static bool IsDashboardPath(string path)
    {
        if (!path.StartsWith(Fallback, StringComparison.Ordinal)
            || (path.Length > Fallback.Length && path[Fallback.Length] is not ('/' or '?' or '#')))
        {
            return false;
        }

        var end = path.IndexOfAny(['?', '#']);
        var pathPart = end < 0 ? path : path[..end];
        if (pathPart.Contains("//", StringComparison.Ordinal)
            || pathPart.Equals("/ui/signin", StringComparison.OrdinalIgnoreCase)
            || pathPart.StartsWith("/ui/signin/", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        foreach (var segment in pathPart.Split('/'))
        {
            // Browsers read %2e as a dot in a path segment, so "/ui/%2e%2e/x" leaves the dashboard too.
            var dots = segment.Replace("%2e", ".", StringComparison.OrdinalIgnoreCase);
            if (dots is "." or "..")
            {
                return false;
            }
        }

        return true;
    }
}
