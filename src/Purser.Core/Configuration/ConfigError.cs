using System.Globalization;

namespace Purser.Configuration;

/// <summary>
/// One problem found in a configuration file. <see cref="Field"/> is the dotted path of the offending value
/// ("models.gpt-4o.provider", "keys[2].hash"); it is empty for problems with the file as a whole.
/// Messages never contain values that came from <c>${VAR}</c> interpolation, only the variable's name.
/// </summary>
public sealed record ConfigError(string Source, int? Line, string Field, string Message)
{
    /// <summary>Compiler-style: "purser.yaml:12: models.x.provider: message", parts omitted when unknown.</summary>
    public override string ToString()
    {
        var location = Line is { } line ? string.Create(CultureInfo.InvariantCulture, $"{Source}:{line}") : Source;
        return Field.Length == 0 ? $"{location}: {Message}" : $"{location}: {Field}: {Message}";
    }
}
