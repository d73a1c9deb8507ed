using Purser.Configuration;

namespace Purser.Gateway.Hosting;

/// <summary>The configuration given at start-up is invalid; <see cref="Errors"/> lists every problem.</summary>
public sealed class InvalidConfigurationException : Exception
{
    public InvalidConfigurationException(IReadOnlyList<ConfigError> errors)
        : base("The configuration is invalid:" + Environment.NewLine + string.Join(Environment.NewLine, errors))
    {
        Errors = errors;
    }

    public InvalidConfigurationException()
        : this([])
    {
    }

    public InvalidConfigurationException(string message)
        : base(message)
    {
        Errors = [];
    }

    public InvalidConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    public IReadOnlyList<ConfigError> Errors { get; }
}
