namespace Purser.Admin;

/// <summary>Which section of the configuration a stored alias definition belongs to.</summary>
public enum AliasKind
{
    /// <summary>A routing alias (<c>routes:</c>).</summary>
    Route = 0,

    /// <summary>An ensemble alias (<c>ensembles:</c>).</summary>
    Ensemble = 1,
}
