using System.Buffers;
using System.Buffers.Text;

namespace Purser.SimulatedProvider.Common;

/// <summary>
/// Document input tokens, deterministic and shaped like the providers' published usage: a PDF (Anthropic
/// <c>document</c> block with a base64 source, OpenAI <c>file</c> part with <c>file_data</c>) is billed per page, its
/// extracted text and the page as an image (Anthropic: "1,500–3,000 tokens per page" of text, plus image tokens per
/// page, at most ~1,600). A page is a <c>/Type /Page</c> object of the decoded PDF (at least one). A document the
/// simulator does not fetch (a URL, a file id) is <see cref="UnfetchedPages"/> pages. Text documents are billed as their
/// text by the readers. The request's total is then held to the model's window (<see cref="ContextWindows"/>).
/// </summary>
internal static class DocumentBilling
{
    public const int TextTokensPerPage = 3_000;
    public const int ImageTokensPerPage = 1_600;
    public const int TokensPerPage = TextTokensPerPage + ImageTokensPerPage;
    public const int UnfetchedPages = 10;

    private static readonly SearchValues<string> PageMarkers = SearchValues.Create(["/Type /Page", "/Type/Page"], StringComparison.Ordinal);

    /// <summary>The tokens of a base64 PDF (a data URL's prefix is skipped); null data is a document not fetched.</summary>
    public static long Pdf(string? base64)
    {
        if (base64 is null)
        {
            return (long)UnfetchedPages * TokensPerPage;
        }

        var comma = base64.StartsWith("data:", StringComparison.Ordinal) ? base64.IndexOf(',', StringComparison.Ordinal) : -1;
        var data = base64.AsSpan(comma + 1);
        var bytes = ArrayPool<byte>.Shared.Rent(Base64.GetMaxDecodedFromUtf8Length(data.Length));
        try
        {
            var written = Convert.TryFromBase64Chars(data, bytes, out var n) ? n : 0;
            return (long)Pages(System.Text.Encoding.Latin1.GetString(bytes, 0, written)) * TokensPerPage;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private static int Pages(string pdf)
    {
        var pages = 0;
        var rest = pdf.AsSpan();
        while (rest.IndexOfAny(PageMarkers) is var at and >= 0)
        {
            var end = rest[at..].StartsWith("/Type /Page", StringComparison.Ordinal) ? at + 11 : at + 10;
            // "/Type /Pages" is the page tree, not a page.
            if (end >= rest.Length || rest[end] != 's')
            {
                pages++;
            }

            rest = rest[end..];
        }

        return Math.Max(1, pages);
    }
}
