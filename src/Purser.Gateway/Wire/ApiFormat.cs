namespace Purser.Gateway.Wire;

/// <summary>The wire format a caller speaks; errors and translated responses are rendered in it.</summary>
internal enum ApiFormat
{
    OpenAI = 0,
    Anthropic = 1,
}
