using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Admin;
using Purser.Configuration;
using Purser.Ensembles;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;

namespace Purser.Gateway.Admin;

/// <summary>
/// Routing and ensemble aliases under <c>/admin/routes</c> and <c>/admin/ensembles</c>. A body has the fields of the
/// config file's entry and is checked by the file loader's own parser (JSON is YAML) against the file's models,
/// routes and ensembles and the other stored aliases, so the API and the file can never disagree on what is valid.
/// A change that would break another stored alias (deleting a route an ensemble uses) is refused with 409.
/// </summary>
internal static class AliasEndpoints
{
    private static readonly JsonWriterOptions DefinitionFormat = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // One admin change at a time in this instance: two changes checked against the same state could together make
    // what neither makes alone (a cycle of two new routes). The loader drops such a pair at the next start.
    private static readonly SemaphoreSlim Writes = new(1, 1);

    public static void MapAliasEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/ensembles", (ConfigMonitor config) => List(config.Current, AliasKind.Ensemble));
        admin.MapPut("/ensembles/{alias}", (string alias, HttpContext http, ConfigMonitor config, IAdminStore store, TimeProvider time) => PutAsync(AliasKind.Ensemble, alias, http, config, store, time));
        admin.MapDelete("/ensembles/{alias}", (string alias, HttpContext http, ConfigMonitor config, IAdminStore store) => DeleteAsync(AliasKind.Ensemble, alias, http, config, store));
        admin.MapGet("/routes", (ConfigMonitor config) => List(config.Current, AliasKind.Route));
        admin.MapPut("/routes/{alias}", (string alias, HttpContext http, ConfigMonitor config, IAdminStore store, TimeProvider time) => PutAsync(AliasKind.Route, alias, http, config, store, time));
        admin.MapDelete("/routes/{alias}", (string alias, HttpContext http, ConfigMonitor config, IAdminStore store) => DeleteAsync(AliasKind.Route, alias, http, config, store));
    }

    private static IResult List(GatewayState state, AliasKind kind)
    {
        var list = new JsonArray();
        if (kind == AliasKind.Ensemble)
        {
            foreach (var (alias, ensemble) in state.Config.Ensembles)
            {
                list.Add(Write(ensemble, SourceOf(state, alias)));
            }
        }
        else
        {
            foreach (var (alias, route) in state.Config.Routes)
            {
                list.Add(Write(route, SourceOf(state, alias)));
            }
        }

        // Stored definitions the current file does not support are listed too, so an operator sees why they are idle.
        foreach (var stored in state.StoredAliasDefinitions)
        {
            if (stored.Kind == kind && !IsApplied(state, stored.Alias) && !StoredAliases.InFile(state.FileConfig, stored.Alias))
            {
                list.Add(new JsonObject { ["alias"] = stored.Alias, ["source"] = "api", ["active"] = false, ["error"] = ErrorOf(state, kind, stored.Alias) });
            }
        }

        return new AdminEndpoints.JsonResult(new JsonObject { ["data"] = list });
    }

    private static async Task<IResult> PutAsync(AliasKind kind, string alias, HttpContext http, ConfigMonitor config, IAdminStore store, TimeProvider time)
    {
        var (body, error) = await AdminEndpoints.ReadAsync(http, config).ConfigureAwait(false);
        if (error is { } bad)
        {
            return new AdminEndpoints.ErrorResult(bad);
        }

        var (saved, refused) = await PutAliasAsync(kind, alias, body!, config, store, time, http.RequestAborted).ConfigureAwait(false);
        return refused is { } no ? new AdminEndpoints.ErrorResult(no) : new AdminEndpoints.JsonResult(saved!);
    }

    /// <summary>Creates or replaces a stored alias from an admin body, validated by the file's parser. Shared with the dashboard.</summary>
    internal static async Task<(JsonObject? Alias, GatewayError? Error)> PutAliasAsync(AliasKind kind, string alias, JsonObject body, ConfigMonitor config, IAdminStore store, TimeProvider time, CancellationToken ct)
    {
        await Writes.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var state = config.Current;
            if (StoredAliases.InFile(state.FileConfig, alias))
            {
                return (null, new GatewayError(GatewayErrorCode.InvalidRequest, $"The alias '{alias}' is defined in the configuration file; change it there.", "alias") { StatusOverride = 409 });
            }

            foreach (var stored in state.StoredAliasDefinitions)
            {
                if (stored.Alias == alias && stored.Kind != kind)
                {
                    return (null, new GatewayError(GatewayErrorCode.InvalidRequest, $"The alias '{alias}' is a stored {KindName(stored.Kind)}; delete it first.", "alias") { StatusOverride = 409 });
                }
            }

            // What GET returns may be sent back as it is: its read-only fields are not part of the definition.
            body.Remove("alias");
            body.Remove("source");
            body.Remove("active");
            var candidate = new StoredAlias(alias, kind, DefinitionText(body), time.GetUtcNow());
            var next = new List<StoredAlias>(state.AppliedAliases.Count + 1);
            foreach (var applied in state.AppliedAliases)
            {
                if (applied.Alias != alias)
                {
                    next.Add(applied);
                }
            }

            next.Add(candidate);
            if (Refusal(state, next, kind, alias) is { } refused)
            {
                return (null, refused);
            }

            await store.UpsertAliasAsync(candidate, ct).ConfigureAwait(false);
            await AdminEndpoints.RefreshAsync(config, store, ct).ConfigureAwait(false);
        }
        finally
        {
            Writes.Release();
        }

        var now = config.Current.Config;
        return (kind == AliasKind.Ensemble ? Write(now.Ensembles[alias], "api") : Write(now.Routes[alias], "api"), null);
    }

    private static async Task<IResult> DeleteAsync(AliasKind kind, string alias, HttpContext http, ConfigMonitor config, IAdminStore store)
    {
        await Writes.WaitAsync(http.RequestAborted).ConfigureAwait(false);
        try
        {
            var state = config.Current;
            var found = false;
            var remaining = new List<StoredAlias>(state.AppliedAliases.Count);
            foreach (var applied in state.AppliedAliases)
            {
                if (applied.Alias == alias && applied.Kind == kind)
                {
                    found = true;
                }
                else
                {
                    remaining.Add(applied);
                }
            }

            // Only what is in effect can break others; a stored definition that is idle may always go.
            if (found && StoredAliases.Validate(state.FileConfig, remaining, kind, alias) is [var first, ..])
            {
                return new AdminEndpoints.ErrorResult(new GatewayError(GatewayErrorCode.InvalidRequest,
                    $"The {KindName(kind)} '{alias}' is still in use: without it, {first.Field}: {first.Message}.", "alias") { StatusOverride = 409 });
            }

            if (!await store.DeleteAliasAsync(kind, alias, http.RequestAborted).ConfigureAwait(false))
            {
                return new AdminEndpoints.ErrorResult(new GatewayError(GatewayErrorCode.InvalidRequest, $"No {KindName(kind)} '{alias}' was created through the admin API.", "alias") { StatusOverride = 404 });
            }

            await AdminEndpoints.RefreshAsync(config, store, http.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            Writes.Release();
        }

        return new AdminEndpoints.JsonResult(new JsonObject { ["alias"] = alias, ["deleted"] = true });
    }

    /// <summary>
    /// The first error of the new set of stored aliases: 400 naming the field when it is the changed alias's own,
    /// 409 when the change would break another stored alias.
    /// </summary>
    private static GatewayError? Refusal(GatewayState state, IReadOnlyList<StoredAlias> next, AliasKind kind, string alias)
    {
        var errors = StoredAliases.Validate(state.FileConfig, next, kind, alias);
        if (errors.Count == 0)
        {
            return null;
        }

        var first = errors[0];
        if (StoredAliases.FieldUnder(first.Field, StoredAliases.PathOf(kind, alias)) is not { } field)
        {
            return new GatewayError(GatewayErrorCode.InvalidRequest, $"This change would break another alias: {first.Field}: {first.Message}.", "alias") { StatusOverride = 409 };
        }

        return new GatewayError(GatewayErrorCode.InvalidRequest, $"{first.Field}: {first.Message}.", ParamOf(field, first.Message));
    }

    /// <summary>The JSON field an error is about: its path under the alias, else the unknown field it names, else the alias.</summary>
    private static string ParamOf(string field, string message)
    {
        const string Unknown = "unknown field '";
        if (field.Length > 0)
        {
            return field;
        }

        if (message.StartsWith(Unknown, StringComparison.Ordinal))
        {
            var end = message.IndexOf('\'', Unknown.Length);
            if (end > Unknown.Length)
            {
                return message[Unknown.Length..end];
            }
        }

        return "alias";
    }

    /// <summary>The body as the stored definition: indented JSON, which every YAML parser reads as the same mapping.</summary>
    internal static string DefinitionText(JsonObject body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, DefinitionFormat))
        {
            body.WriteTo(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string SourceOf(GatewayState state, string alias) => StoredAliases.InFile(state.FileConfig, alias) ? "config" : "api";

    private static bool IsApplied(GatewayState state, string alias)
    {
        foreach (var applied in state.AppliedAliases)
        {
            if (applied.Alias == alias)
            {
                return true;
            }
        }

        return false;
    }

    private static string? ErrorOf(GatewayState state, AliasKind kind, string alias)
    {
        var path = StoredAliases.PathOf(kind, alias);
        foreach (var error in state.AliasErrors)
        {
            if (StoredAliases.FieldUnder(error.Field, path) is not null)
            {
                return error.Field + ": " + error.Message;
            }
        }

        return "depends on an alias that is not in effect";
    }

    private static string KindName(AliasKind kind) => kind == AliasKind.Route ? "route" : "ensemble";

    private static JsonObject Write(RouteConfig route, string source)
    {
        var targets = new JsonArray();
        foreach (var target in route.Targets)
        {
            targets.Add(target);
        }

        return new JsonObject { ["alias"] = route.Alias, ["source"] = source, ["active"] = true, ["targets"] = targets, ["cooldown_seconds"] = route.CooldownSeconds };
    }

    /// <summary>Every field with its effective value, in the shape PUT accepts, so a GET body can be edited and sent back.</summary>
    internal static JsonObject Write(EnsembleConfig ensemble, string source)
    {
        var panel = new JsonArray();
        foreach (var member in ensemble.Panel)
        {
            panel.Add(new JsonObject { ["model"] = member.Model, ["temperature"] = member.Temperature, ["seed"] = member.Seed });
        }

        var guardrail = ensemble.Guardrail;
        return new JsonObject
        {
            ["alias"] = ensemble.Alias,
            ["source"] = source,
            ["active"] = true,
            ["panel"] = panel,
            ["judge"] = new JsonObject { ["model"] = ensemble.Judge, ["synthesis_prompt"] = ensemble.SynthesisPrompt },
            ["min_responses"] = ensemble.MinResponses,
            ["timeout_ms"] = ensemble.TimeoutMs,
            ["max_total_tokens"] = guardrail.MaxTotalTokens,
            ["max_panel_calls"] = guardrail.MaxPanelCalls,
            ["max_cost_usd"] = guardrail.MaxCostUsd?.ToString(),
            ["on_exceed"] = guardrail.OnExceed == ExceedAction.Fail ? "fail" : "degrade",
            ["degrade_to"] = guardrail.DegradeTo,
        };
    }
}
