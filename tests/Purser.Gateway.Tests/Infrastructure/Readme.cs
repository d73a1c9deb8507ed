using System.Text;

namespace Purser.Gateway.Tests.Infrastructure;

/// <summary>
/// The repository's README as a list of its shell blocks (```sh / ```bash fences), each with the smoke-test marker
/// written just above it (<c>&lt;!-- smoke: install --&gt;</c>, <c>serve</c>, <c>skip (why)</c>) or none.
/// </summary>
public static class Readme
{
    public sealed record Block(int Line, string Marker, string Text);

    /// <summary>The repository root: the first directory above the test binaries with the README and scripts/publish.sh.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static IReadOnlyList<Block> ShellBlocks()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot, "README.md"));
        var blocks = new List<Block>();
        var marker = "";
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.StartsWith("<!-- smoke:", StringComparison.Ordinal))
            {
                marker = line["<!-- smoke:".Length..].Replace("-->", "", StringComparison.Ordinal).Trim();
                continue;
            }

            if (!line.StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            var language = line[3..].Trim();
            var start = i + 1;
            var text = new StringBuilder();
            for (i++; i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal); i++)
            {
                text.Append(lines[i]).Append('\n');
            }

            if (language is "sh" or "bash")
            {
                blocks.Add(new Block(start, marker.Split(' ')[0], text.ToString()));
            }

            marker = "";
        }

        return blocks;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "README.md")) && File.Exists(Path.Combine(dir.FullName, "scripts", "publish.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("No repository root (README.md and scripts/publish.sh) above " + AppContext.BaseDirectory);
    }
}
