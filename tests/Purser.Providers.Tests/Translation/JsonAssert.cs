using System.Text.Json.Nodes;

namespace Purser.Providers.Tests.Translation;

internal static class JsonAssert
{
    public static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();

    /// <summary>Structural equality, with both documents printed on failure so the diff is readable.</summary>
    public static void Equal(string expectedJson, JsonNode? actual)
    {
        var expected = JsonNode.Parse(expectedJson);
        Assert.True(
            JsonNode.DeepEquals(expected, actual),
            "expected:\n" + expected!.ToJsonString() + "\nactual:\n" + (actual?.ToJsonString() ?? "null"));
    }
}
