using Purser.Configuration;
using Purser.Gateway.Errors;

namespace Purser.Gateway.AdminServices;

/// <summary>
/// How the admin services refuse: a body's errors (from the section type that read it) as one 400 naming the first
/// wrong field and listing every error; a missing resource and a conflict as the error table's 404 and 409 codes.
/// </summary>
internal static class AdminRefusal
{
    /// <summary>
    /// A 400 for the errors of a body read under <paramref name="prefix"/> ("budgets.daily", "keys", …): its param is
    /// the JSON path of the first error under the prefix (or the unknown field it names), else <paramref name="fallback"/>.
    /// </summary>
    public static GatewayError Invalid(IReadOnlyList<ConfigError> errors, string prefix, string fallback)
    {
        if (errors.Count == 0)
        {
            return new GatewayError(GatewayErrorCode.InvalidRequest, $"{prefix}: invalid.", fallback);
        }

        var message = string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")) + ".";
        return new GatewayError(GatewayErrorCode.InvalidRequest, message, ParamOf(errors[0], prefix, fallback));
    }

    public static GatewayError NotFound(string message, string param) => new(GatewayErrorCode.AdminNotFound, message, param);

    public static GatewayError Conflict(string message, string param) => new(GatewayErrorCode.AdminConflict, message, param);

    /// <summary>The JSON field an error is about: its path under the prefix, else the unknown field it names, else the fallback.</summary>
    public static string ParamOf(ConfigError error, string prefix, string fallback)
    {
        ArgumentNullException.ThrowIfNull(error);
        var field = StoredAliases.FieldUnder(error.Field, prefix);
        if (field is { Length: > 0 })
        {
            return field;
        }

        const string Unknown = "unknown field '";
        if (error.Message.StartsWith(Unknown, StringComparison.Ordinal))
        {
            var end = error.Message.IndexOf('\'', Unknown.Length);
            if (end > Unknown.Length)
            {
                return error.Message[Unknown.Length..end];
            }
        }

        return fallback;
    }

    /// <summary>The ids of every key, the file's and the stored ones: what a budget, policy or limit may name.</summary>
    public static List<string> KeyIds(Configuration.GatewayState state)
    {
        var ids = new List<string>(state.FileConfig.Keys.Count + state.StoredKeys.Count);
        foreach (var key in state.FileConfig.Keys)
        {
            ids.Add(key.Id);
        }

        foreach (var key in state.StoredKeys)
        {
            ids.Add(key.Id);
        }

        return ids;
    }
}
