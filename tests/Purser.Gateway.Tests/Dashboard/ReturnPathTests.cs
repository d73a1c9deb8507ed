using System.Text;
using Purser.Gateway.Dashboard;

namespace Purser.Gateway.Tests.Dashboard;

/// <summary>The sign-in return path: only back into the dashboard, always a valid ASCII Location, never a throw.</summary>
public sealed class ReturnPathTests
{
    [Theory]
    [InlineData("/ui", "/ui")]
    [InlineData("/ui/keys", "/ui/keys")]
    [InlineData("/ui/usage?key_id=a&model=b", "/ui/usage?key_id=a&model=b")]
    [InlineData("/ui/keys/%C3%BC", "/ui/keys/%C3%BC")]
    [InlineData("/ui/keys?x=ü", "/ui/keys?x=%C3%BC")]
    [InlineData("/ui/events?scope=key:漢字", "/ui/events?scope=key:%E6%BC%A2%E5%AD%97")]
    [InlineData("/ui/usage?key_id=😀", "/ui/usage?key_id=%F0%9F%98%80")]
    [InlineData("/ui/keys/signin", "/ui/keys/signin")]
    [InlineData("/ui/usage?key_id=a b\"<x>", "/ui/usage?key_id=a%20b%22%3Cx%3E")]
    public void A_dashboard_path_is_kept_with_non_ascii_percent_encoded(string requested, string expected) =>
        Assert.Equal(expected, ReturnPath.Safe(requested));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("//evil.example/ui")]
    [InlineData("/\\evil.example")]
    [InlineData("/ui\\..\\admin")]
    [InlineData("https://evil.example/ui")]
    [InlineData("javascript:alert(1)")]
    [InlineData("/uievil")]
    [InlineData("/ui.evil.example")]
    [InlineData("/ui//evil.example")]
    [InlineData("/ui/../admin/keys")]
    [InlineData("/ui/%2e%2E/admin")]
    [InlineData("/ui/./keys")]
    [InlineData("/ui/signin")]
    [InlineData("/ui/signin?return=/ui")]
    [InlineData("/ui/keys\r\nSet-Cookie: x=1")]
    [InlineData("/ui/keys\u0000")]
    [InlineData("/admin/keys")]
    [InlineData("ui/keys")]
    public void Anything_else_falls_back_to_the_overview(string? requested) =>
        Assert.Equal(ReturnPath.Fallback, ReturnPath.Safe(requested));

    [Fact]
    public void A_lone_surrogate_falls_back_to_the_overview()
    {
        // Not through InlineData: its serialisation would turn the lone surrogate into U+FFFD.
        Assert.Equal(ReturnPath.Fallback, ReturnPath.Safe("/ui/keys?x=" + '\ud800'));
        Assert.Equal(ReturnPath.Fallback, ReturnPath.Safe("/ui/keys?x=" + '\udc00' + "a"));
        Assert.Equal(ReturnPath.Fallback, ReturnPath.Safe("/ui/keys?x=" + '\ud800' + "a"));
    }

    [Fact]
    public void Any_generated_value_becomes_a_valid_ascii_location_inside_the_dashboard()
    {
        // Generated hostile values built from the pieces that break redirects: separators, schemes, slashes,
        // backslashes, dots, control characters, non-ASCII and lone surrogates.
        string[] pieces = ["/ui", "/", "//", "\\", ":", "http:", ".", "..", "%2e", "?", "#", "&", "=", "signin", "keys", "ü", "漢", "😀", "\ud800", "\udc00", "\r", "\n", "\t", "\u0000", "\u007f", " ", "@", "evil.example"];
        var random = new Random(17);
        for (var i = 0; i < 5000; i++)
        {
            var value = new StringBuilder(i % 2 == 0 ? "/ui" : "");
            for (var n = random.Next(0, 8); n > 0; n--)
            {
                value.Append(pieces[random.Next(pieces.Length)]);
            }

            var safe = ReturnPath.Safe(value.ToString());

            Assert.True(safe == "/ui" || safe.StartsWith("/ui/", StringComparison.Ordinal) || safe.StartsWith("/ui?", StringComparison.Ordinal) || safe.StartsWith("/ui#", StringComparison.Ordinal), $"{value} -> {safe}");
            Assert.All(safe, c => Assert.InRange(c, '!', '~'));
            Assert.DoesNotContain('\\', safe);
            var resolved = new Uri(new Uri("http://gateway.test/"), safe);
            Assert.Equal("gateway.test", resolved.Host);
            Assert.StartsWith("/ui", resolved.AbsolutePath, StringComparison.Ordinal);
        }
    }
}
