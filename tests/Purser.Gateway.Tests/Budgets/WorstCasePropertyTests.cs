using System.Buffers.Binary;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Microsoft.AspNetCore.Http;
using Purser.Gateway.Budgets;
using Purser.Gateway.Proxy;
using Purser.Gateway.Wire;
using Purser.Pricing;
using Purser.Providers.Usage;
using Purser.SimulatedProvider;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// The worst case the gateway computes for a request is never below what the (real, loopback) simulated provider
/// bills for the same request: every content kind the simulator supports — text, images by the providers' formulas,
/// n choices, reasoning and thinking within the limit, service tiers, 5-minute and 1-hour cache writes, web searches
/// with max_uses, documents (Anthropic PDF, text and URL sources; OpenAI file parts) and long context (Claude Sonnet's
/// 1M-token beta, priced above 200K input tokens at its long-context rate) — in both wire formats (issue 13). A
/// request the simulated model refuses as too long (400, nothing billed) is no case against the bound.
/// </summary>
public sealed class WorstCasePropertyTests : IAsyncLifetime
{
    private static readonly string[] OpenAiModels = ["gpt-4o-mini", "gpt-4o", "gpt-5", "gpt-4.1-mini"];
    private static readonly string[] AnthropicModels = ["claude-sonnet-4-5", "claude-haiku-4-5"];
    private static readonly string?[] Tiers = [null, "priority", "flex", "default", "auto"];

    private static readonly Gen<(int W, int H, int Detail, bool Url)> Images =
        Gen.Select(Gen.Int[1, 6000], Gen.Int[1, 6000], Gen.Int[0, 2], Gen.Bool);

    private static readonly Gen<Case> Cases =
        from anthropic in Gen.Bool
        from model in Gen.Int[0, 3]
        from texts in Gen.String[0, 300].Array[1, 3]
        from images in Images.Array[0, 3]
        from n in Gen.Int[1, 6]
        from maxTokens in Gen.Int[1, 4000]
        from tier in Gen.Int[0, Tiers.Length - 1]
        from sim in Gen.Select(Gen.Int[0, 5000], Gen.Int[0, 5000], Gen.Int[0, 6])
        from cache in Gen.Int[0, 2]
        from searchUses in Gen.Int[-1, 4]
        from document in Gen.Select(Gen.Int[0, 3], Gen.OneOf(Gen.Int[1, 5], Gen.Int[40, 60]), Gen.Bool)
        select new Case(anthropic, anthropic ? AnthropicModels[model % AnthropicModels.Length] : OpenAiModels[model], texts, images, anthropic ? 1 : n, maxTokens, Tiers[tier], sim.Item1, sim.Item2, sim.Item3, cache, searchUses)
        {
            Document = document.Item1,
            Pages = document.Item2,
            Context1M = anthropic && document.Item3,
        };

    private SimulatedProviderServer? _simulator;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
        _http.BaseAddress = _simulator.BaseAddress;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_simulator is not null)
        {
            await _simulator.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_worst_case_is_never_below_what_the_provider_bills()
    {
        await Cases.SampleAsync(CheckAsync, iter: 300, threads: 1);
    }

    private async Task CheckAsync(Case c)
    {
        var body = c.Anthropic ? AnthropicBody(c) : OpenAiBody(c);
        var text = body.ToJsonString();
        var bytes = Encoding.UTF8.GetByteCount(text);
        var format = c.Anthropic ? ApiFormat.Anthropic : ApiFormat.OpenAI;
        Assert.Null(RequestShapes.Read(JsonNode.Parse(text)!.AsObject(), format, bytes, out var shape));
        var headers = new HeaderDictionary();
        if (c.Context1M)
        {
            headers["anthropic-beta"] = AnthropicBetas.Context1M;
        }

        Assert.Null(BetaHeaders.Check(headers, [AnthropicBetas.Context1M], shape));
        var entry = PriceCatalog.Default.Entries[c.Model];
        var bound = WorstCases.Of(shape, c.Model, c.Anthropic, entry.ContextWindow, c.MaxTokens);
        Assert.True(bound.IsBounded, bound.Unbounded);

        using var request = new HttpRequestMessage(HttpMethod.Post, c.Anthropic ? "/v1/messages" : "/v1/chat/completions")
        {
            Content = new StringContent(text, Encoding.UTF8, "application/json"),
        };
        if (c.Anthropic)
        {
            request.Headers.Add("x-api-key", "sim");
            request.Headers.Add("anthropic-version", "2023-06-01");
            if (c.Context1M)
            {
                request.Headers.Add("anthropic-beta", AnthropicBetas.Context1M);
            }
        }
        else
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sim");
        }

        request.Headers.Add("x-sim-out", c.Out.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("x-sim-reason", c.Reason.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("x-sim-searches", c.Searches.ToString(CultureInfo.InvariantCulture));
        using var response = await _http.SendAsync(request);
        var answer = await response.Content.ReadAsByteArrayAsync();
        if (response.StatusCode == System.Net.HttpStatusCode.BadRequest)
        {
            // Too long for the model's window: refused, nothing billed.
            Assert.Contains(c.Anthropic ? "prompt is too long" : "context_length_exceeded", Encoding.UTF8.GetString(answer), StringComparison.Ordinal);
            return;
        }

        Assert.True(response.IsSuccessStatusCode, Encoding.UTF8.GetString(answer));
        Assert.True(c.Anthropic ? UsageReader.TryReadAnthropic(answer, out var usage) : UsageReader.TryReadOpenAi(answer, out usage));

        Assert.True(usage.InputTokens <= bound.InputTokens, $"input {usage.InputTokens} > bound {bound.InputTokens}");
        Assert.True(usage.OutputTokens <= bound.OutputTokens, $"output {usage.OutputTokens} > bound {bound.OutputTokens}");
        Assert.True(usage.WebSearchRequests <= bound.ToolUses, $"searches {usage.WebSearchRequests} > bound {bound.ToolUses}");
        Assert.True(entry.Price.Cost(usage) <= bound.Cost(entry.Price), $"cost {entry.Price.Cost(usage)} > worst case {bound.Cost(entry.Price)}");
    }

    private static JsonObject OpenAiBody(Case c)
    {
        var parts = new JsonArray();
        foreach (var t in c.Texts)
        {
            parts.Add(new JsonObject { ["type"] = "text", ["text"] = t });
        }

        foreach (var image in c.Images)
        {
            parts.Add(new JsonObject
            {
                ["type"] = "image_url",
                ["image_url"] = new JsonObject { ["url"] = image.Url ? "https://example.invalid/i.png" : Png(image.W, image.H), ["detail"] = image.Detail switch { 0 => "low", 1 => "high", _ => "auto" } },
            });
        }

        switch (c.Document)
        {
            case 1:
                parts.Add(new JsonObject { ["type"] = "file", ["file"] = new JsonObject { ["filename"] = "a.pdf", ["file_data"] = "data:application/pdf;base64," + Pdf(c.Pages) } });
                break;
            case 2 or 3:
                parts.Add(new JsonObject { ["type"] = "file", ["file"] = new JsonObject { ["file_id"] = "file-abc123" } });
                break;
        }

        var body = new JsonObject
        {
            ["model"] = c.Model,
            ["max_tokens"] = c.MaxTokens,
            ["n"] = c.Choices,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = "be brief" }, new JsonObject { ["role"] = "user", ["content"] = parts }),
        };
        if (c.Tier is { } tier)
        {
            body["service_tier"] = tier;
        }

        return body;
    }

    private static JsonObject AnthropicBody(Case c)
    {
        var blocks = new JsonArray();
        foreach (var t in c.Texts)
        {
            blocks.Add(new JsonObject { ["type"] = "text", ["text"] = t.Length == 0 ? "." : t });
        }

        foreach (var image in c.Images)
        {
            blocks.Add(new JsonObject
            {
                ["type"] = "image",
                ["source"] = image.Url
                    ? new JsonObject { ["type"] = "url", ["url"] = "https://example.invalid/i.png" }
                    : new JsonObject { ["type"] = "base64", ["media_type"] = "image/png", ["data"] = Png(image.W, image.H)["data:image/png;base64,".Length..] },
            });
        }

        var source = c.Document switch
        {
            1 => new JsonObject { ["type"] = "base64", ["media_type"] = "application/pdf", ["data"] = Pdf(c.Pages) },
            2 => new JsonObject { ["type"] = "text", ["media_type"] = "text/plain", ["data"] = string.Concat(c.Texts) + "." },
            3 => new JsonObject { ["type"] = "url", ["url"] = "https://example.invalid/a.pdf" },
            _ => null,
        };
        if (source is not null)
        {
            blocks.Add(new JsonObject { ["type"] = "document", ["source"] = source });
        }

        if (c.Cache > 0)
        {
            blocks[0]!["cache_control"] = c.Cache == 2 ? new JsonObject { ["type"] = "ephemeral", ["ttl"] = "1h" } : new JsonObject { ["type"] = "ephemeral" };
        }

        var body = new JsonObject
        {
            ["model"] = c.Model,
            ["max_tokens"] = c.MaxTokens,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = blocks }),
        };
        if (c.SearchUses >= 0)
        {
            body["tools"] = new JsonArray(new JsonObject { ["type"] = "web_search_20250305", ["name"] = "web_search", ["max_uses"] = c.SearchUses });
            body["tool_choice"] = new JsonObject { ["type"] = "none" };
        }

        return body;
    }

    /// <summary>A PDF of <paramref name="pages"/> page objects under one page tree (what the simulator counts), base64.</summary>
    private static string Pdf(int pages)
    {
        var pdf = new StringBuilder("%PDF-1.7\n1 0 obj << /Type /Pages /Count ").Append(pages).Append(" >> endobj\n");
        for (var i = 0; i < pages; i++)
        {
            pdf.Append(CultureInfo.InvariantCulture, $"{i + 2} 0 obj << /Type /Page /Parent 1 0 R >> endobj\n");
        }

        return Convert.ToBase64String(Encoding.ASCII.GetBytes(pdf.Append("%%EOF").ToString()));
    }

    /// <summary>A PNG's signature and header chunk (all the formulas read), as a data URL.</summary>
    private static string Png(int width, int height)
    {
        var bytes = new byte[33];
        byte[] signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R'];
        signature.CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(16), (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(20), (uint)height);
        bytes[24] = 8;
        bytes[25] = 6;
        return "data:image/png;base64," + Convert.ToBase64String(bytes);
    }

    internal sealed record Case(bool Anthropic, string Model, string[] Texts, (int W, int H, int Detail, bool Url)[] Images, int Choices, int MaxTokens, string? Tier, int Out, int Reason, int Searches, int Cache, int SearchUses)
    {
        /// <summary>0 none; 1 a PDF of <see cref="Pages"/> pages; 2 an Anthropic text document, an OpenAI file id; 3 an Anthropic URL document, an OpenAI file id.</summary>
        public int Document { get; init; }

        public int Pages { get; init; } = 1;

        /// <summary>Anthropic's 1M-token context beta, sent to the simulator and read by the gateway's bound.</summary>
        public bool Context1M { get; init; }
    }
}
