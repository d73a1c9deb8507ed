using System.Globalization;
using System.Text.Json.Nodes;
using Purser.Budgets.Reservations;

namespace Purser.Gateway.Budgets;

/// <summary>A reservation and its children as JSON: the caller's <c>/v1/budget/reservations</c> and the admin list say the same.</summary>
internal static class ReservationJson
{
    public static JsonObject Write(ReservationView view)
    {
        var children = new JsonArray();
        foreach (var child in view.Children)
        {
            children.Add((JsonNode?)Write(child));
        }

        return new JsonObject
        {
            ["id"] = view.Id,
            ["object"] = "budget.reservation",
            ["parent"] = view.ParentId,
            ["label"] = view.Label,
            ["status"] = view.State switch { ReservationState.Live => "live", ReservationState.Released => "released", _ => "expired" },
            ["amount_usd"] = view.Amount.ToString(),
            ["spent_usd"] = view.Spent.ToString(),
            ["held_usd"] = view.Held.ToString(),
            ["remaining_usd"] = view.Remaining.ToString(),
            ["created_at"] = Time(view.CreatedAt),
            ["expires_at"] = Time(view.ExpiresAt),
            ["budget_path"] = new JsonArray([.. view.Path.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => (JsonNode?)JsonValue.Create(p))]),
            ["children"] = children,
        };
    }

    public static string Time(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
