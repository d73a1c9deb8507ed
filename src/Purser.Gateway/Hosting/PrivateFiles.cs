namespace Purser.Gateway.Hosting;

/// <summary>
/// Files that hold secrets (the quickstart's demo and admin keys, the database with webhook signing secrets) are
/// readable by their owner only: 0600 files in a 0700 directory. A file an earlier version wrote wider is narrowed
/// when next used. Windows has no Unix modes; there the directory's inherited ACL applies.
/// </summary>
internal static class PrivateFiles
{
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerOnlyFile | UnixFileMode.UserExecute;
    private const UnixFileMode GroupAndOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates the directory 0700 when missing. An existing directory keeps its mode: it may be the operator's own
    /// (e.g. <c>--data-dir .</c>), and the secret files in it are 0600 regardless.
    /// </summary>
    public static void CreateDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, OwnerOnlyDirectory);
        }
    }

    /// <summary>
    /// The trimmed text of a secret file, created 0600 with <paramref name="create"/>'s value when missing. Created
    /// with its final mode (never world-readable, not even for an instant) and with CreateNew, so two starts racing
    /// on a fresh directory cannot both write it: the loser reads the winner's secret.
    /// </summary>
    public static string ReadOrCreateSecret(string path, Func<string> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        if (!File.Exists(path))
        {
            try
            {
                using var stream = new FileStream(path, Options(FileMode.CreateNew));
                using var writer = new StreamWriter(stream);
                writer.Write(create());
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first; its secret is the one to use.
            }
        }

        Narrow(path);
        return File.ReadAllText(path).Trim();
    }

    /// <summary>
    /// Makes sure a file (and, for a SQLite database, its WAL and shared-memory files) exists with owner-only access.
    /// An empty file is a valid empty SQLite database, and SQLite gives the files it creates beside a database the
    /// database file's mode, so creating the database file 0600 keeps its WAL 0600 too.
    /// </summary>
    public static void EnsurePrivateDatabase(string path)
    {
        if (!File.Exists(path))
        {
            try
            {
                using var stream = new FileStream(path, Options(FileMode.CreateNew));
            }
            catch (IOException) when (File.Exists(path))
            {
                // Created meanwhile by another start; narrowed below like any existing file.
            }
        }

        Narrow(path);
        Narrow(path + "-wal");
        Narrow(path + "-shm");
    }

    private static FileStreamOptions Options(FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnlyFile;
        }

        return options;
    }

    private static void Narrow(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path))
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupAndOther) != 0)
        {
            File.SetUnixFileMode(path, mode & ~GroupAndOther);
        }
    }
}
