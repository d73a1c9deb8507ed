namespace Purser.Providers.Translation;

/// <summary>
/// Why a caller's request cannot be translated for the other provider. The gateway answers it as a 400
/// invalid_request_error; <see cref="Param"/> is the JSON path of the offending field (OpenAI's "param"), or null.
/// </summary>
public readonly record struct TranslationError(string Message, string? Param);
