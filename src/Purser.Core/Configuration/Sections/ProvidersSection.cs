using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The <c>providers:</c> section: one upstream API per name (kind, base URL, key, Azure api-version).</summary>
internal sealed class ProvidersSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    private static readonly string[] ProviderFields = ["kind", "base_url", "api_key", "api_version", "responses"];

    public Dictionary<string, ProviderConfig> Read(YamlNode node, HashSet<string> declared)
    {
        var providers = new Dictionary<string, ProviderConfig>(StringComparer.Ordinal);
        if (!TryMapping(node, "providers", out var map))
        {
            return providers;
        }

        foreach (var (nameNode, body) in Entries(map, "providers"))
        {
            var name = nameNode.Value ?? string.Empty;
            var path = "providers." + name;
            declared.Add(name);
            var before = ErrorCount;
            if (!ConfigText.IsProviderName(name))
            {
                Error(nameNode.Start.Line, path, "provider names use only a-z, 0-9, '_' and '-'");
            }

            if (!TryMapping(body, path, out var fieldsMap))
            {
                continue;
            }

            var fields = Fields(fieldsMap, path, ProviderFields);
            ProviderKind? kind = null;
            if (!fields.TryGetValue("kind", out var kindNode))
            {
                Error(nameNode.Start.Line, path + ".kind", "is required (openai, anthropic or azure_openai)");
            }
            else if (TryScalar(kindNode, path + ".kind", out var kindText))
            {
                kind = kindText.Value.ToUpperInvariant() switch
                {
                    "OPENAI" => ProviderKind.OpenAI,
                    "ANTHROPIC" => ProviderKind.Anthropic,
                    "AZURE_OPENAI" => ProviderKind.AzureOpenAI,
                    _ => null,
                };
                if (kind is null)
                {
                    Error(kindText.Line, path + ".kind", $"unknown kind {kindText.Describe()} (expected openai, anthropic or azure_openai)");
                }
            }

            Uri? baseUrl = null;
            if (fields.TryGetValue("base_url", out var urlNode))
            {
                if (TryHttpUrl(urlNode, path + ".base_url", out var url))
                {
                    baseUrl = new Uri(url.Value, UriKind.Absolute);
                }
            }
            else if (kind == ProviderKind.AzureOpenAI)
            {
                Error(nameNode.Start.Line, path + ".base_url", "is required for azure_openai (the resource endpoint, e.g. https://my-resource.openai.azure.com)");
            }
            else if (kind is { } known)
            {
                baseUrl = new Uri(known == ProviderKind.Anthropic ? "https://api.anthropic.com/v1" : "https://api.openai.com/v1");
            }

            string? apiKey = null;
            if (fields.TryGetValue("api_key", out var keyNode) && TryScalar(keyNode, path + ".api_key", out var key) && key.Value.Length > 0)
            {
                apiKey = key.Value;
            }

            string? apiVersion = null;
            if (fields.TryGetValue("api_version", out var versionNode))
            {
                if (kind is { } notAzure && notAzure != ProviderKind.AzureOpenAI)
                {
                    Error(versionNode.Start.Line, path + ".api_version", "is only used by kind: azure_openai");
                }
                else if (TryScalar(versionNode, path + ".api_version", out var version))
                {
                    if (version.Value.Length == 0 || !version.Value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.'))
                    {
                        Error(version.Line, path + ".api_version", $"{version.Describe()} is not an api-version (letters, digits, '-' and '.', e.g. 2024-10-21)");
                    }
                    else
                    {
                        apiVersion = version.Value;
                    }
                }
            }
            else if (kind == ProviderKind.AzureOpenAI)
            {
                Error(nameNode.Start.Line, path + ".api_version", "is required for azure_openai (e.g. 2024-10-21)");
            }

            // responses: false marks an OpenAI-compatible server without a Responses API (self-hosted servers, Gemini's
            // OpenAI endpoint): /v1/responses for its models is translated to Chat Completions and back.
            var responsesApi = true;
            if (fields.TryGetValue("responses", out var responsesNode) && TryBool(responsesNode, path + ".responses", out var speaksResponses))
            {
                if (kind == ProviderKind.Anthropic)
                {
                    Error(responsesNode.Start.Line, path + ".responses", "is only used by OpenAI-format providers (Anthropic's are always translated)");
                }
                else
                {
                    responsesApi = speaksResponses;
                }
            }

            if (ErrorCount == before && kind is { } k && baseUrl is not null)
            {
                providers[name] = new ProviderConfig { Name = name, Kind = k, BaseUrl = baseUrl, ApiKey = apiKey, ApiVersion = apiVersion, ResponsesApi = responsesApi };
            }
        }

        return providers;
    }
}
