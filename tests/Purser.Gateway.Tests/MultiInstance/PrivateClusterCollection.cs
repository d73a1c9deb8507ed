namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// The tests that start PostgreSQL clusters of their own and stop them run one at a time: two at once (initdb, several
/// gateway processes each) starved a gateway's start-up connection into a timeout on the shared test machine.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PrivateClusterCollection
{
    public const string Name = "private PostgreSQL clusters";
}
