using System.Globalization;
using System.Text.Json.Nodes;
using Purser.Ensembles;

namespace Purser.Gateway.Dashboard;

/// <summary>
/// Turns the dashboard's form posts into the admin API's JSON bodies, so the admin API's own validation (and its
/// error messages, which name the field) applies to both. Values that are not numbers are passed on as text for the
/// validator to refuse.
/// </summary>
internal static class DashboardForms
{
    public static string? Text(IFormCollection form, string name)
    {
        var value = form[name].ToString().Trim();
        return value.Length == 0 ? null : value;
    }

    public static JsonNode Number(string text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var whole) ? JsonValue.Create(whole)
        : decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out var dec) ? JsonValue.Create(dec)
        : JsonValue.Create(text);

    public static JsonArray List(string? text)
    {
        var list = new JsonArray();
        foreach (var item in (text ?? "").Split([',', '\n', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            list.Add((JsonNode?)item);
        }

        return list;
    }

    /// <summary>A budget body from the budget form: scope, caps, window, enforcement, mode, under, model, degrade.throttle_rpm (the rest keeps the API's defaults).</summary>
    public static JsonObject Budget(IFormCollection form, string scope)
    {
        var body = new JsonObject { ["scope"] = scope };
        if (Text(form, "cap_usd") is { } cap)
        {
            body["cap_usd"] = cap;
        }

        if (Text(form, "cap_tokens") is { } tokens)
        {
            body["cap_tokens"] = Number(tokens);
        }

        if (Text(form, "throttle_rpm") is { } rpm)
        {
            body["degrade"] = new JsonObject { ["throttle_rpm"] = Number(rpm) };
        }

        foreach (var name in (string[])["window", "timezone", "enforcement", "mode", "under", "model"])
        {
            if (Text(form, name) is { } value)
            {
                body[name] = value;
            }
        }

        return body;
    }

    /// <summary>A rate limit body from the rate limit form: scope, model and the three limits, blank ones left out.</summary>
    public static JsonObject RateLimit(IFormCollection form)
    {
        var body = new JsonObject();
        foreach (var name in (string[])["scope", "model"])
        {
            if (Text(form, name) is { } value)
            {
                body[name] = value;
            }
        }

        foreach (var name in (string[])["requests_per_minute", "tokens_per_minute", "max_concurrent"])
        {
            if (Text(form, name) is { } value)
            {
                body[name] = Number(value);
            }
        }

        return body;
    }

    /// <summary>
    /// An ensemble body from the ensemble form. The panel is one member per line: the model alias, optionally followed by
    /// <c>temperature=0.7</c> and <c>seed=3</c>.
    /// </summary>
    public static JsonObject Ensemble(IFormCollection form)
    {
        var panel = new JsonArray();
        foreach (var line in (Text(form, "panel") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var member = new JsonObject { ["model"] = parts[0] };
            for (var i = 1; i < parts.Length; i++)
            {
                var eq = parts[i].IndexOf('=', StringComparison.Ordinal);
                member[eq > 0 ? parts[i][..eq] : parts[i]] = eq > 0 ? Number(parts[i][(eq + 1)..]) : null;
            }

            panel.Add((JsonNode?)member);
        }

        var judge = new JsonObject { ["model"] = Text(form, "judge") };
        if (Text(form, "synthesis_prompt") is { } prompt)
        {
            judge["synthesis_prompt"] = prompt;
        }

        var body = new JsonObject { ["panel"] = panel, ["judge"] = judge };
        foreach (var name in (string[])["min_responses", "timeout_ms", "max_total_tokens", "max_panel_calls"])
        {
            if (Text(form, name) is { } value)
            {
                body[name] = Number(value);
            }
        }

        foreach (var name in (string[])["max_cost_usd", "on_exceed", "degrade_to"])
        {
            if (Text(form, name) is { } value)
            {
                body[name] = value;
            }
        }

        return body;
    }

    /// <summary>The form's fields for an ensemble as it is configured, so the form opens with its effective values.</summary>
    public static Dictionary<string, string> Fields(EnsembleConfig e)
    {
        var panel = new System.Text.StringBuilder();
        foreach (var m in e.Panel)
        {
            panel.Append(m.Model);
            if (m.Temperature is { } t)
            {
                panel.Append(" temperature=").Append(t.ToString(CultureInfo.InvariantCulture));
            }

            if (m.Seed is { } s)
            {
                panel.Append(" seed=").Append(s.ToString(CultureInfo.InvariantCulture));
            }

            panel.Append('\n');
        }

        var g = e.Guardrail;
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["panel"] = panel.ToString().TrimEnd(),
            ["judge"] = e.Judge,
            ["synthesis_prompt"] = e.SynthesisPrompt == EnsembleConfig.DefaultSynthesisPrompt ? "" : e.SynthesisPrompt,
            ["min_responses"] = e.MinResponses.ToString(CultureInfo.InvariantCulture),
            ["timeout_ms"] = e.TimeoutMs.ToString(CultureInfo.InvariantCulture),
            ["max_total_tokens"] = g.MaxTotalTokens?.ToString(CultureInfo.InvariantCulture) ?? "",
            ["max_panel_calls"] = g.MaxPanelCalls?.ToString(CultureInfo.InvariantCulture) ?? "",
            ["max_cost_usd"] = g.MaxCostUsd?.ToString() ?? "",
            ["on_exceed"] = g.OnExceed == ExceedAction.Fail ? "fail" : "degrade",
            ["degrade_to"] = g.DegradeTo,
        };
    }

    /// <summary>The posted fields as they were typed, to show them again next to an error.</summary>
    public static Dictionary<string, string> Fields(IFormCollection form)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in form)
        {
            if (name != DashboardSetup.CsrfField)
            {
                fields[name] = value.ToString();
            }
        }

        return fields;
    }
}
