using Purser.Gateway.Configuration;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Pipeline;

/// <summary>
/// What <see cref="CallOpening"/> hands a metered proxy's own steps: the authenticated caller, the call being recorded,
/// the configuration it is served under (read once, at the start) and the wire format its errors are written in.
/// </summary>
internal readonly record struct OpenedCall(HttpContext Context, CallRecord Call, Keys.VirtualKey Key, GatewayState State, ApiFormat Format);
