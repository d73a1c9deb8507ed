using Purser.Gateway.Hosting;
using Purser.Store.Sqlite;

namespace Purser.Gateway.Tests.Hosting;

/// <summary>The quickstart's secrets (demo key, admin key, the database with webhook secrets) are owner-only on disk.</summary>
public sealed class QuickstartSecretFilesTests : IDisposable
{
    private const UnixFileMode GroupAndOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "purser-secrets-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void A_fresh_data_directory_is_0700_and_its_secret_files_0600()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // No Unix modes to check.
        }

        var data = Path.Combine(_root, "data");

        var (_, demoKey, adminKey) = Quickstart.Configure(new GatewayHostOptions { DataDirectory = data, Environment = _ => null }, new Uri("http://127.0.0.1:9"));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, "demo-key.txt")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, "admin-key.txt")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, "purser.db")));
        Assert.Equal(demoKey, File.ReadAllText(Path.Combine(data, "demo-key.txt")));
        Assert.Equal(adminKey, File.ReadAllText(Path.Combine(data, "admin-key.txt")));

        // SQLite opens the pre-created empty file as an empty database, and its WAL inherits the file's mode.
        var database = SqliteDatabase.Open(Path.Combine(data, "purser.db"));
        using (var connection = database.OpenConnection())
        {
            Assert.True(database.SchemaVersion > 0);
            Assert.Equal((UnixFileMode)0, File.GetUnixFileMode(Path.Combine(data, "purser.db-wal")) & GroupAndOther);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    [Fact]
    public void Secret_files_an_earlier_version_wrote_world_readable_are_narrowed_and_kept()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // No Unix modes to check.
        }

        var data = Path.Combine(_root, "old");
        Directory.CreateDirectory(data);
        var wide = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        foreach (var name in new[] { "demo-key.txt", "admin-key.txt" })
        {
            File.WriteAllText(Path.Combine(data, name), "secret-" + name + "\n");
            File.SetUnixFileMode(Path.Combine(data, name), wide);
        }

        var (_, demoKey, adminKey) = Quickstart.Configure(new GatewayHostOptions { DataDirectory = data, Environment = _ => null }, new Uri("http://127.0.0.1:9"));

        Assert.Equal("secret-demo-key.txt", demoKey);
        Assert.Equal("secret-admin-key.txt", adminKey);
        Assert.Equal((UnixFileMode)0, File.GetUnixFileMode(Path.Combine(data, "demo-key.txt")) & GroupAndOther);
        Assert.Equal((UnixFileMode)0, File.GetUnixFileMode(Path.Combine(data, "admin-key.txt")) & GroupAndOther);
        Assert.Equal((UnixFileMode)0, File.GetUnixFileMode(Path.Combine(data, "purser.db")) & GroupAndOther);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Left behind in the temp directory: harmless.
        }
    }
}
