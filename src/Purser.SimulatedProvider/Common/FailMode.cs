namespace Purser.SimulatedProvider.Common;

internal enum FailMode
{
    None,
    Status,
    Timeout,
    MalformedJson,
    MalformedSse,
    Cut,
}
