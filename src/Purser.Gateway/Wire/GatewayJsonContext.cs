using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Purser.Gateway.Wire;

/// <summary>Source-generated serialisation for the few whole objects the gateway writes (no reflection at run time).</summary>
[JsonSerializable(typeof(JsonObject))]
[JsonSourceGenerationOptions(WriteIndented = false)]
internal sealed partial class GatewayJsonContext : JsonSerializerContext;
