using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Budgets;
using Purser.Gateway.Errors;
using Purser.Pricing;

namespace Purser.Gateway.Budgets;

/// <summary>
/// The rules of a reservation's body and ids: <c>amount_usd</c> a decimal string or number above 0, at most
/// <see cref="MaxAmount"/>, in whole nano-dollars; <c>ttl_seconds</c> an integer from 1 to <see cref="MaxTtlSeconds"/>
/// (default <see cref="DefaultTtlSeconds"/>); <c>label</c> at most 200 characters; <c>parent</c> a reservation id.
/// Anything else is a 400 that names the field; nothing is held.
/// </summary>
internal static class ReservationRequests
{
    public const string RemainingHeader = "x-budget-reservation-remaining";
    public const int DefaultTtlSeconds = 900;
    public const int MaxTtlSeconds = 7 * 24 * 3600;
    public const int MaxLabelLength = 200;

    public static readonly Money MaxAmount = BudgetRequestHeaders.MaxCeiling;

    public readonly record struct Body(Money Amount, int TtlSeconds, string? Label, string? Parent);

    /// <summary>Reservation ids: what <see cref="NewId"/> makes, or any 1–128 letters, digits, '.', '_', '-' or ':'.</summary>
    public static bool IsValidId(string? id) => id is not null && ScopeRef.IsValidId(id);

    public static string NewId() => "rsv_" + Guid.NewGuid().ToString("N");

    /// <summary>For a request that drew on a reservation: what was left of it once the request's worst case was held.</summary>
    public static void ApplyRemaining(HttpResponse response, Admission? admission)
    {
        if (admission?.ReservationRemaining is { } remaining)
        {
            response.Headers[RemainingHeader] = remaining.ToString();
        }
    }

    public static GatewayError NotFound(string id) =>
        new(GatewayErrorCode.ReservationNotFound, $"No reservation '{id}' exists for this key.", BudgetRequestHeaders.ReservationHeader);

    public static GatewayError? Parse(JsonObject? json, out Body body)
    {
        body = default;
        if (json is null)
        {
            return Invalid("body", "must be a JSON object");
        }

        foreach (var (name, _) in json)
        {
            if (name is not ("amount_usd" or "ttl_seconds" or "label" or "parent"))
            {
                return Invalid(name, "is not a reservation field (amount_usd, ttl_seconds, label, parent)");
            }
        }

        if (!TryAmount(json["amount_usd"], out var amount))
        {
            return Invalid("amount_usd", $"must be a USD amount above 0 and at most {MaxAmount} in whole nano-dollars, such as \"0.50\"");
        }

        var ttl = DefaultTtlSeconds;
        if (json["ttl_seconds"] is { } ttlNode
            && !(ttlNode.GetValueKind() == JsonValueKind.Number && ttlNode.AsValue().TryGetValue(out ttl) && ttl is >= 1 and <= MaxTtlSeconds))
        {
            return Invalid("ttl_seconds", $"must be a whole number of seconds from 1 to {MaxTtlSeconds}");
        }

        string? label = null;
        if (json["label"] is { } labelNode
            && !(labelNode.GetValueKind() == JsonValueKind.String && (label = labelNode.GetValue<string>()).Length <= MaxLabelLength))
        {
            return Invalid("label", $"must be a string of at most {MaxLabelLength} characters");
        }

        string? parent = null;
        if (json["parent"] is { } parentNode
            && !(parentNode.GetValueKind() == JsonValueKind.String && IsValidId(parent = parentNode.GetValue<string>())))
        {
            return Invalid("parent", "must be a reservation id");
        }

        body = new Body(amount, ttl, label, parent);
        return null;
    }

    private static bool TryAmount(JsonNode? node, out Money amount)
    {
        amount = Money.Zero;
        string? text = node?.GetValueKind() switch
        {
            JsonValueKind.String => node.GetValue<string>(),
            // The number's own text, so 0.1 stays exactly 0.1; exponents are refused by the parser.
            JsonValueKind.Number => node.ToJsonString(),
            _ => null,
        };
        return text is not null && text.Trim() == text && Money.TryParseUsd(text, out amount) && amount > Money.Zero && amount <= MaxAmount;
    }

    private static GatewayError Invalid(string field, string rule) =>
        new(GatewayErrorCode.InvalidReservation, string.Create(CultureInfo.InvariantCulture, $"The field '{field}' {rule}."), field);
}
