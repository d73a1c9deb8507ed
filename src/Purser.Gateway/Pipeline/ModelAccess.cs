using Purser.Configuration;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Pricing;

namespace Purser.Gateway.Pipeline;

/// <summary>The model step every metered proxy shares: the alias exists, the key may use it, it serves this endpoint, and its price is known.</summary>
internal static class ModelAccess
{
    /// <remarks><paramref name="calledAs"/> is the alias the caller named when it differs (a route served by <paramref name="alias"/>): the key must allow that one.</remarks>
    public static GatewayError? Resolve(GatewayState state, Keys.VirtualKey key, string alias, ModelKind kind, out ResolvedModel model, out ModelPrice price, string? calledAs = null)
    {
        price = ModelPrice.Free;
        if (!state.Models.TryGetValue(alias, out model!))
        {
            return new GatewayError(GatewayErrorCode.ModelNotFound, $"The model '{alias}' does not exist on this gateway.", "model");
        }

        if (!key.Allows(calledAs ?? alias))
        {
            return new GatewayError(GatewayErrorCode.ModelNotAllowed, $"The key '{key.Id}' may not use the model '{calledAs ?? alias}'.", "model");
        }

        if (model.Model.Kind != kind)
        {
            return new GatewayError(GatewayErrorCode.WrongModelKind, $"The model '{alias}' is a {model.Model.Kind.ToString().ToLowerInvariant()} model and cannot serve this endpoint.", "model");
        }

        if (model.Model.Price is { } known)
        {
            price = known;
        }
        else if (!model.Model.Free)
        {
            // Fail closed: a request whose cost cannot be computed could spend without limit.
            return new GatewayError(GatewayErrorCode.ModelNotPriced, $"The model '{alias}' has no price configured, so the gateway cannot account for it. Add a price, or mark it free: true.", "model");
        }

        return null;
    }
}
