using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Admin;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Store.Sqlite.Admin;

/// <summary>
/// The text forms of enum and list columns. Enums are written as the words the config file uses, so a row read in an
/// operator's sqlite3 shell means what it says; a word this build does not know is a corrupt row and throws.
/// </summary>
internal static class AdminColumns
{
    public static long ToUnixMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromUnixMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);

    public static object ToDb(DateTimeOffset? value) => value is { } v ? v.ToUnixTimeMilliseconds() : DBNull.Value;

    public static object ToDb(string? value) => value is null ? DBNull.Value : value;

    public static object ToDb(long? value) => value is { } v ? v : DBNull.Value;

    public static string WindowText(BudgetWindowKind window) => BudgetWindows.Name(window);

    public static BudgetWindowKind ParseWindow(string text) =>
        BudgetWindows.TryParseKind(text, out var kind) && string.Equals(BudgetWindows.Name(kind), text, StringComparison.Ordinal)
            ? kind
            : throw Corrupt("window_kind", text);

    /// <summary>The end-user template's "under" scope as stored; null for none.</summary>
    public static ScopeRef? ParseUnder(string? text) =>
        text is null ? null
        : ScopeRef.TryParse(text, out var under) && under.Value.Kind is ScopeKind.Key or ScopeKind.Team ? under
        : throw Corrupt("under_scope", text);

    public static string EnforcementText(Enforcement enforcement) => enforcement switch
    {
        Enforcement.Hard => "hard",
        Enforcement.Soft => "soft",
        _ => throw new ArgumentOutOfRangeException(nameof(enforcement), enforcement, null),
    };

    public static Enforcement ParseEnforcement(string text) => text switch
    {
        "hard" => Enforcement.Hard,
        "soft" => Enforcement.Soft,
        _ => throw Corrupt("enforcement", text),
    };

    public static string ModeText(AccountingMode mode) => mode switch
    {
        AccountingMode.Reserve => "reserve",
        AccountingMode.PostHoc => "post_hoc",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

    public static AccountingMode ParseMode(string text) => text switch
    {
        "reserve" => AccountingMode.Reserve,
        "post_hoc" => AccountingMode.PostHoc,
        _ => throw Corrupt("mode", text),
    };

    public static string AliasKindText(AliasKind kind) => kind switch
    {
        AliasKind.Route => "route",
        AliasKind.Ensemble => "ensemble",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static AliasKind ParseAliasKind(string text) => text switch
    {
        "route" => AliasKind.Route,
        "ensemble" => AliasKind.Ensemble,
        _ => throw Corrupt("kind", text),
    };

    /// <summary>"50,80,100"; the empty string for no thresholds.</summary>
    public static string ThresholdsText(IReadOnlyList<int> thresholds)
    {
        var text = new StringBuilder(thresholds.Count * 4);
        for (var i = 0; i < thresholds.Count; i++)
        {
            if (i > 0)
            {
                text.Append(',');
            }

            text.Append(thresholds[i].ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    public static int[] ParseThresholds(string text)
    {
        if (text.Length == 0)
        {
            return [];
        }

        var parts = text.Split(',');
        var thresholds = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out thresholds[i]))
            {
                throw Corrupt("alert_thresholds", text);
            }
        }

        return thresholds;
    }

    /// <summary>A JSON array of strings: aliases are free text, so no separator character is safe.</summary>
    public static string ModelsText(IReadOnlyList<string> models)
    {
        var array = new JsonArray();
        foreach (var model in models)
        {
            array.Add((JsonNode?)model);
        }

        return array.ToJsonString();
    }

    public static string[] ParseModels(string text)
    {
        try
        {
            var array = JsonNode.Parse(text)?.AsArray() ?? throw Corrupt("allowed_models", text);
            var models = new string[array.Count];
            for (var i = 0; i < array.Count; i++)
            {
                models[i] = array[i]?.GetValue<string>() ?? throw Corrupt("allowed_models", text);
            }

            return models;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"Corrupt admin_keys.allowed_models value '{text}'.", ex);
        }
    }

    private static InvalidDataException Corrupt(string column, string text) =>
        new($"Corrupt {column} value '{text}': it was not written by this Purser build.");

    /// <summary>A <c>budgets</c> row (id, scope, window, zone, caps, enforcement, mode, thresholds, degrade, under, model, throttle) from either engine.</summary>
    public static BudgetDefinition ReadBudget(DbDataReader reader)
    {
        var scopeText = reader.GetString(1);
        if (!ScopeRef.TryParse(scopeText, out var scope))
        {
            throw new InvalidDataException($"Corrupt budgets.scope value '{scopeText}'.");
        }

        var fallback = reader.IsDBNull(9) ? null : reader.GetString(9);
        int? minMaxTokens = reader.IsDBNull(10) ? null : reader.GetInt32(10);

        // Selected by the admin stores (BudgetColumns) only; task-scope reads stop at the degrade columns.
        int? throttleRpm = reader.FieldCount > 13 && !reader.IsDBNull(13) ? reader.GetInt32(13) : null;
        return new BudgetDefinition
        {
            Id = reader.GetString(0),
            Scope = scope.Value,
            Window = AdminColumns.ParseWindow(reader.GetString(2)),
            TimeZone = reader.GetString(3),
            CapUsd = reader.IsDBNull(4) ? null : new Money(reader.GetInt64(4)),
            CapTokens = reader.IsDBNull(5) ? null : reader.GetInt64(5),
            Enforcement = AdminColumns.ParseEnforcement(reader.GetString(6)),
            Mode = AdminColumns.ParseMode(reader.GetString(7)),
            AlertThresholds = AdminColumns.ParseThresholds(reader.GetString(8)),

            // All columns null means no degrade options, which is what a DegradeOptions with neither step means too.
            Degrade = fallback is null && minMaxTokens is null && throttleRpm is null
                ? null
                : new DegradeOptions { FallbackModel = fallback, MinMaxTokens = minMaxTokens, ThrottleRpm = throttleRpm },

            // Selected by the admin stores (BudgetColumns); task-scope reads stop at the degrade columns.
            Under = reader.FieldCount > 12 ? ParseUnder(reader.IsDBNull(11) ? null : reader.GetString(11)) : null,
            Model = reader.FieldCount > 12 && !reader.IsDBNull(12) ? reader.GetString(12) : null,
        };
    }
}
