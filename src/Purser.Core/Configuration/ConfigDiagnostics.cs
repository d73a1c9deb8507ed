using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration;

/// <summary>
/// The errors of one parse (of a file, or of one admin body) and what its section types read with: where the text comes
/// from and the environment <c>${VAR}</c> expands from. Every section appends here, so one run reports every error.
/// </summary>
internal sealed class ConfigDiagnostics
{
    public ConfigDiagnostics(string source, Func<string, string?> environment)
    {
        Source = source;
        Environment = environment;
    }

    public string Source { get; }

    public Func<string, string?> Environment { get; }

    public List<ConfigError> Errors { get; } = [];

    /// <summary>Whether the text is an admin JSON body: values must have their JSON type and are never interpolated.</summary>
    public bool Strict { get; init; }

    public void Error(long? line, string field, string message) =>
        Errors.Add(new ConfigError(Source, line is > 0 and <= int.MaxValue ? (int)line : null, field, message));

    /// <summary>
    /// The one node a stored definition holds (JSON text, which YAML reads as the same mapping); a text that is not one
    /// document is an error on <paramref name="path"/>.
    /// </summary>
    public YamlNode? Definition(string text, string path)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            Error(ex.Start.Line, path, SyntaxMessage(ex.Message));
            return null;
        }
        catch (InvalidOperationException)
        {
            Error(null, path, "invalid JSON (an unclosed '{' or '[' perhaps)");
            return null;
        }

        if (stream.Documents.Count != 1)
        {
            Error(null, path, "expected one object, found " + stream.Documents.Count.ToString(CultureInfo.InvariantCulture) + " documents");
            return null;
        }

        return stream.Documents[0].RootNode;
    }

    public static string SyntaxMessage(string message) =>
        message.StartsWith("Duplicate key ", StringComparison.Ordinal)
            ? $"duplicate field '{message["Duplicate key ".Length..]}'"
            : "invalid YAML: " + message;

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };
}
