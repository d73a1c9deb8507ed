namespace Purser.Configuration;

/// <summary>The outcome of loading a configuration: a config, or every error found (never both).</summary>
public sealed record ConfigLoadResult(PurserConfig? Config, IReadOnlyList<ConfigError> Errors)
{
    public bool Success => Config is not null && Errors.Count == 0;
}
