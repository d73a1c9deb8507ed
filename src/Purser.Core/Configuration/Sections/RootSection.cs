using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The document's root: a mapping of known section names, each handed to its section type.</summary>
internal sealed class RootSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    /// <summary>The root's sections by name; null (with the error reported) when the root is not a mapping.</summary>
    public Dictionary<string, YamlNode>? Sections(YamlNode root, string[] allowed) =>
        TryMapping(root, string.Empty, out var map) ? Fields(map, string.Empty, allowed) : null;
}
