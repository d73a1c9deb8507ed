namespace Purser.Gateway.Tests.Infrastructure;

/// <summary>
/// A test of the native (NativeAOT) <c>purser</c> binary, which <c>./scripts/test.sh</c> publishes and names in
/// <c>PURSER_NATIVE_BINARY</c> before every run. With the variable unset (<c>dotnet test</c> alone) the test is reported
/// as skipped with the way to run it, and nothing is built; with it set, the test runs — and fails if the file is missing.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NativeBinaryFactAttribute : FactAttribute
{
    public const string Variable = "PURSER_NATIVE_BINARY";

    public NativeBinaryFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)))
        {
            Skip = $"{Variable} is not set: run ./scripts/test.sh (it publishes the native binary and sets it), or "
                + $"scripts/publish-native.sh and then {Variable}=artifacts/native/purser dotnet test ...";
        }
    }

    /// <summary>The binary the variable names, asserted to exist (the test command set it, so it must be there).</summary>
    public static string Binary
    {
        get
        {
            var path = Path.GetFullPath(Environment.GetEnvironmentVariable(Variable)!);
            Assert.True(File.Exists(path), $"{Variable} names {path}, which does not exist: the native publish failed or wrote elsewhere");
            return path;
        }
    }
}
