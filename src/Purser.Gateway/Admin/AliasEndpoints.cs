using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Admin;
using Purser.Configuration;
using Purser.Ensembles;
using Purser.Gateway.AdminServices;
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
    public static void MapAliasEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/ensembles", (ConfigMonitor config) => List(config.Current, AliasKind.Ensemble));
        admin.MapPut("/ensembles/{alias}", (string alias, HttpContext http, ConfigMonitor config, AliasAdmin aliases) => PutAsync(AliasKind.Ensemble, alias, http, config, aliases));
        admin.MapDelete("/ensembles/{alias}", (string alias, HttpContext http, AliasAdmin aliases) => DeleteAsync(AliasKind.Ensemble, alias, http, aliases));
        admin.MapGet("/routes", (ConfigMonitor config) => List(config.Current, AliasKind.Route));
        admin.MapPut("/routes/{alias}", (string alias, HttpContext http, ConfigMonitor config, AliasAdmin aliases) => PutAsync(AliasKind.Route, alias, http, config, aliases));
        admin.MapDelete("/routes/{alias}", (string alias, HttpContext http, AliasAdmin aliases) => DeleteAsync(AliasKind.Route, alias, http, aliases));
    }

    private static IResult List(GatewayState state, AliasKind kind)
    {
        var list = new JsonArray();
        if (kind == AliasKind.Ensemble)
        {
            foreach (var (alias, ensemble) in state.Config.Ensembles)
            {
                list.Add((JsonNode?)AliasJson.Write(ensemble, SourceOf(state, alias)));
            }
        }
        else
        {
            foreach (var (alias, route) in state.Config.Routes)
            {
                list.Add((JsonNode?)AliasJson.Write(route, SourceOf(state, alias)));
            }
        }

        // Stored definitions the current file does not support are listed too, so an operator sees why they are idle.
        foreach (var stored in state.StoredAliasDefinitions)
        {
            if (stored.Kind == kind && !IsApplied(state, stored.Alias) && !StoredAliases.InFile(state.FileConfig, stored.Alias))
            {
                list.Add((JsonNode?)new JsonObject { ["alias"] = stored.Alias, ["source"] = "api", ["active"] = false, ["error"] = ErrorOf(state, kind, stored.Alias) });
            }
        }

        return new AdminEndpoints.JsonResult(new JsonObject { ["data"] = list });
    }

    private static async Task<IResult> PutAsync(AliasKind kind, string alias, HttpContext http, ConfigMonitor config, AliasAdmin aliases)
    {
        var (body, error) = await AdminEndpoints.ReadAsync(http, config).ConfigureAwait(false);
        if (error is { } bad)
        {
            return new AdminEndpoints.ErrorResult(bad);
        }

        var (saved, refused) = await aliases.PutAsync(kind, alias, body!, http.RequestAborted).ConfigureAwait(false);
        return refused is { } no ? new AdminEndpoints.ErrorResult(no) : new AdminEndpoints.JsonResult(saved!);
    }

    private static async Task<IResult> DeleteAsync(AliasKind kind, string alias, HttpContext http, AliasAdmin aliases) =>
        await aliases.DeleteAsync(kind, alias, http.RequestAborted).ConfigureAwait(false) is { } refused
            ? new AdminEndpoints.ErrorResult(refused)
            : new AdminEndpoints.JsonResult(new JsonObject { ["alias"] = alias, ["deleted"] = true });

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
}
