using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Purser.SimulatedProvider.Tests;

/// <summary>
/// Documents are billed per page (a PDF's text and page image), text documents as their text, unfetched documents as
/// a fixed page count; a prompt above the model's window is refused, and Claude Sonnet's 1M-token beta admits one
/// above 200K tokens, reported as plain input tokens (which the gateway prices at the long-context rate).
/// </summary>
public sealed class DocumentAndLongContextTests : IClassFixture<SimServerFixture>
{
    private const int PerPage = 4_600;
    private readonly SimServerFixture sim;

    public DocumentAndLongContextTests(SimServerFixture sim) => this.sim = sim;

    [Fact]
    public async Task An_anthropic_pdf_is_billed_per_page()
    {
        var (one, _) = await AnthropicAsync("claude-haiku-4-5", Pdf(1), beta: false);
        var (three, _) = await AnthropicAsync("claude-haiku-4-5", Pdf(3), beta: false);
        Assert.Equal(2 * PerPage, three - one);
        Assert.InRange(one, PerPage, PerPage + 100);
    }

    [Fact]
    public async Task An_anthropic_text_document_is_billed_as_its_text()
    {
        var source = new JsonObject { ["type"] = "text", ["media_type"] = "text/plain", ["data"] = new string('a', 4000) };
        var (tokens, _) = await AnthropicAsync("claude-haiku-4-5", source, beta: false);
        Assert.InRange(tokens, 1000, 1100);
    }

    [Fact]
    public async Task An_openai_file_part_is_billed_per_page_and_a_file_id_as_ten_pages()
    {
        var (pdf, _) = await OpenAiAsync(new JsonObject { ["filename"] = "a.pdf", ["file_data"] = "data:application/pdf;base64," + Pdf(2)["data"]!.GetValue<string>() });
        var (id, _) = await OpenAiAsync(new JsonObject { ["file_id"] = "file-abc" });
        Assert.Equal(8 * PerPage, id - pdf);
    }

    [Fact]
    public async Task Sonnet_above_200k_is_refused_without_the_beta_and_served_with_it()
    {
        var (_, refused) = await AnthropicAsync("claude-sonnet-4-5", Pdf(50), beta: false);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Response.StatusCode);
        Assert.Contains("prompt is too long", refused.Body.ToJsonString(), StringComparison.Ordinal);

        var (tokens, served) = await AnthropicAsync("claude-sonnet-4-5", Pdf(50), beta: true);
        Assert.Equal(HttpStatusCode.OK, served.Response.StatusCode);
        Assert.True(tokens > 200_000, tokens.ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task An_openai_prompt_above_the_window_is_context_length_exceeded()
    {
        var (_, refused) = await OpenAiAsync(new JsonObject { ["file_data"] = "data:application/pdf;base64," + Pdf(40)["data"]!.GetValue<string>() }, "gpt-4o-mini");
        Assert.Equal(HttpStatusCode.BadRequest, refused.Response.StatusCode);
        Assert.Equal("context_length_exceeded", refused.Body["error"]!["code"]!.GetValue<string>());
    }

    private async Task<(long Tokens, (HttpResponseMessage Response, JsonNode Body) Answer)> AnthropicAsync(string model, JsonObject source, bool beta)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = 10,
            ["messages"] = new JsonArray(new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "document", ["source"] = source }, new JsonObject { ["type"] = "text", ["text"] = "summarise" }),
            }),
        };
        using var request = SimServerFixture.AnthropicRequest(body.ToJsonString());
        if (beta)
        {
            request.Headers.Add("anthropic-beta", "context-1m-2025-08-07");
        }

        var answer = await sim.SendJsonAsync(request);
        var tokens = answer.Response.IsSuccessStatusCode ? answer.Body["usage"]!["input_tokens"]!.GetValue<long>() : 0;
        return (tokens, answer);
    }

    private async Task<(long Tokens, (HttpResponseMessage Response, JsonNode Body) Answer)> OpenAiAsync(JsonObject file, string model = "gpt-4.1-mini")
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = 10,
            ["messages"] = new JsonArray(new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "file", ["file"] = file }, new JsonObject { ["type"] = "text", ["text"] = "summarise" }),
            }),
        };
        var answer = await sim.ChatAsync(body.ToJsonString());
        var tokens = answer.Response.IsSuccessStatusCode ? answer.Body["usage"]!["prompt_tokens"]!.GetValue<long>() : 0;
        return (tokens, answer);
    }

    private static JsonObject Pdf(int pages)
    {
        var pdf = new StringBuilder("%PDF-1.7\n1 0 obj << /Type /Pages /Count ").Append(pages).Append(" >> endobj\n");
        for (var i = 0; i < pages; i++)
        {
            pdf.Append(CultureInfo.InvariantCulture, $"{i + 2} 0 obj << /Type /Page /Parent 1 0 R >> endobj\n");
        }

        return new JsonObject { ["type"] = "base64", ["media_type"] = "application/pdf", ["data"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(pdf.Append("%%EOF").ToString())) };
    }
}
