namespace Purser.Pricing;

/// <summary>
/// The providers' published formulas for the input tokens of one image, as upper bounds.
/// <list type="bullet">
/// <item>OpenAI tile models (platform.openai.com/docs/guides/images-vision, "Calculating costs"): low detail costs the
/// base; high or auto: fit in 2048×2048, shortest side down to 768, then base + tiles of 512 px × per-tile. Both
/// scalings only shrink, so at most 2 × 4 = 8 tiles: an image of unknown size is bounded by base + 8 × per-tile.
/// gpt-4o-mini bills 2,833 + 5,667 per tile (so 48,169 for 8 tiles).</item>
/// <item>OpenAI patch models (gpt-4.1-mini/nano, gpt-5-mini/nano, o4-mini): 32 px patches, scaled down to at most
/// 1,536, times a model multiplier: bounded by min(⌈w/32⌉·⌈h/32⌉, 1,536) × multiplier.</item>
/// <item>Anthropic (docs.claude.com, vision): about w·h/750 tokens; an image above 1,568 px on its long edge or ~1,600
/// tokens is scaled down first. The bound is min(⌈w·h/750⌉, 1,750): the published ~1,600 ceiling plus a margin
/// for "about".</item>
/// </list>
/// Models with no published formula return null: the caller then bounds the image by the context window.
/// </summary>
public static class ImageTokens
{
    public const int AnthropicCeiling = 1_750;

    private const int MaxTiles = 8;
    private const int MaxPatches = 1_536;

    // Longest names first, so "gpt-4o-mini" is found before "gpt-4o". Per mille multipliers for patch models.
    private static readonly (string Prefix, int Base, int PerTile, int PatchPerMille)[] OpenAiFamilies =
    [
        ("gpt-4.1-mini", 0, 0, 1_620),
        ("gpt-4.1-nano", 0, 0, 2_460),
        ("gpt-5-mini", 0, 0, 1_620),
        ("gpt-5-nano", 0, 0, 2_460),
        ("gpt-4o-mini", 2_833, 5_667, 0),
        ("computer-use-preview", 65, 129, 0),
        ("o4-mini", 0, 0, 1_720),
        ("gpt-4-turbo", 85, 170, 0),
        ("gpt-4.1", 85, 170, 0),
        ("gpt-4.5", 85, 170, 0),
        ("gpt-5.1", 70, 140, 0), // UNSURE: gpt-5.1 is assumed to bill images as gpt-5 does
        ("gpt-4o", 85, 170, 0),
        ("gpt-5", 70, 140, 0),
        ("o1", 75, 150, 0),
        ("o3", 75, 150, 0),
    ];

    /// <summary>The most input tokens <paramref name="image"/> can be billed on <paramref name="upstreamModel"/>; null when unknown.</summary>
    public static long? Bound(ImageInput image, string upstreamModel, bool anthropic)
    {
        if (anthropic)
        {
            return image.KnownSize ? Math.Min(CeilDiv((long)image.Width * image.Height, 750), AnthropicCeiling) : AnthropicCeiling;
        }

        foreach (var family in OpenAiFamilies)
        {
            if (!Matches(upstreamModel, family.Prefix))
            {
                continue;
            }

            if (family.PatchPerMille > 0)
            {
                long patches = MaxPatches;
                if (image.KnownSize)
                {
                    patches = Math.Min(CeilDiv(image.Width, 32) * CeilDiv(image.Height, 32), MaxPatches);
                }

                return CeilDiv(patches * family.PatchPerMille, 1000);
            }

            if (image.Detail == ImageDetail.Low)
            {
                return family.Base;
            }

            return family.Base + ((long)Tiles(image) * family.PerTile);
        }

        return null;
    }

    /// <summary>512 px tiles after OpenAI's two shrinking steps; the most (8) when the size is unknown.</summary>
    internal static int Tiles(ImageInput image)
    {
        if (!image.KnownSize)
        {
            return MaxTiles;
        }

        double w = image.Width;
        double h = image.Height;
        if (w > 2048 || h > 2048)
        {
            var scale = 2048 / Math.Max(w, h);
            (w, h) = (w * scale, h * scale);
        }

        if (Math.Min(w, h) > 768)
        {
            var scale = 768 / Math.Min(w, h);
            (w, h) = (w * scale, h * scale);
        }

        // Rounding up each side can only add a tile, never lose one; the shrinking bounds the count at 8.
        var tiles = (int)(Math.Ceiling(Math.Ceiling(w) / 512) * Math.Ceiling(Math.Ceiling(h) / 512));
        return Math.Min(tiles, MaxTiles);
    }

    /// <summary>The exact name or a dated/suffixed variant of it ("gpt-4o-2024-08-06").</summary>
    private static bool Matches(string model, string prefix) =>
        model.StartsWith(prefix, StringComparison.Ordinal) && (model.Length == prefix.Length || model[prefix.Length] == '-');

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
