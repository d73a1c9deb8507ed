using System.Text;
using System.Text.Json;

namespace Purser.Budgets.Reservations;

/// <summary>
/// A tree as one JSON document, the form the durable stores keep it in (one row per tree, locked as a whole, so every
/// rule runs on a consistent tree). Trees are small: <see cref="ReservationLimits"/> bounds their size.
/// </summary>
public static class ReservationTreeCodec
{
    public static string Write(ReservationTree tree)
    {
        ArgumentNullException.ThrowIfNull(tree);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("counter_held", tree.CounterHeld);
            json.WriteStartArray("nodes");
            foreach (var node in tree.Nodes)
            {
                json.WriteStartObject();
                json.WriteString("id", node.Id);
                if (node.ParentId is { } parent)
                {
                    json.WriteString("parent", parent);
                }

                json.WriteString("key", node.KeyId);
                if (node.Label is { } label)
                {
                    json.WriteString("label", label);
                }

                json.WriteNumber("depth", node.Depth);
                json.WriteNumber("amount", node.Amount);
                json.WriteNumber("spent", node.Spent);
                json.WriteNumber("held", node.Held);
                json.WriteNumber("state", (int)node.State);
                json.WriteNumber("created_ms", node.CreatedAt.ToUnixTimeMilliseconds());
                json.WriteNumber("expires_ms", node.ExpiresAt.ToUnixTimeMilliseconds());
                json.WriteString("path", node.Path);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public static ReservationTree Read(string text)
    {
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        var nodes = new List<ReservationNode>();
        foreach (var item in root.GetProperty("nodes").EnumerateArray())
        {
            nodes.Add(new ReservationNode
            {
                Id = item.GetProperty("id").GetString()!,
                ParentId = item.TryGetProperty("parent", out var parent) ? parent.GetString() : null,
                KeyId = item.GetProperty("key").GetString()!,
                Label = item.TryGetProperty("label", out var label) ? label.GetString() : null,
                Depth = item.GetProperty("depth").GetInt32(),
                Amount = item.GetProperty("amount").GetInt64(),
                Spent = item.GetProperty("spent").GetInt64(),
                Held = item.GetProperty("held").GetInt64(),
                State = (ReservationState)item.GetProperty("state").GetInt32(),
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(item.GetProperty("created_ms").GetInt64()),
                ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(item.GetProperty("expires_ms").GetInt64()),
                Path = item.GetProperty("path").GetString() ?? "",
            });
        }

        return new ReservationTree(nodes, root.GetProperty("counter_held").GetInt64());
    }
}
