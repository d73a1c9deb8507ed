using Microsoft.Extensions.Primitives;
using Purser.Gateway.Errors;

namespace Purser.Gateway.Validation;

/// <summary>
/// The caller's headers that travel to the provider (<c>anthropic-version</c>, <c>anthropic-beta</c>): checked before
/// anything is held, so a value the HTTP stack cannot send is the caller's 400 — never a 502 blamed on the provider,
/// and never a failure that puts a route's target into cooldown for everyone.
/// </summary>
internal static class ForwardedHeaders
{
    public const int MaxLength = 1024;

    private static readonly string[] Names = ["anthropic-version", "anthropic-beta"];

    public static GatewayError? Validate(IHeaderDictionary headers)
    {
        foreach (var name in Names)
        {
            if (!headers.TryGetValue(name, out StringValues values))
            {
                continue;
            }

            if (values.Count > 1)
            {
                return new GatewayError(GatewayErrorCode.InvalidHeader, $"The header '{name}' was sent more than once.", name);
            }

            var value = values[0] ?? "";
            if (value.Length > MaxLength || !IsVisibleAscii(value))
            {
                return new GatewayError(GatewayErrorCode.InvalidHeader, $"The header '{name}' must be printable ASCII of at most {MaxLength} characters.", name);
            }
        }

        return null;
    }

    private static bool IsVisibleAscii(string value)
    {
        foreach (var c in value)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}
