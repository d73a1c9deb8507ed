namespace Purser.Ensembles;

/// <summary>What an ensemble does when even its smallest allowed panel breaks a cap.</summary>
public enum ExceedAction
{
    /// <summary>Serve one call of the degrade target instead.</summary>
    Degrade = 0,

    /// <summary>Refuse the request with an error naming the cap and the projection.</summary>
    Fail = 1,
}
