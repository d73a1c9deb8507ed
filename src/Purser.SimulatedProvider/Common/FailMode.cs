namespace Purser.SimulatedProvider.Common;

internal enum FailMode
{
    None,
    Status,
    Timeout,
    MalformedJson,
    MalformedSse,
    Cut,

    /// <summary>Reports absurd usage (9e18 prompt tokens): a provider that lies.</summary>
    HugeUsage,

    /// <summary>Answers 200 without a usage object.</summary>
    NoUsage,

    /// <summary>Answers a stream request with a whole JSON response (not an event stream).</summary>
    JsonStream,

    /// <summary>Sends the headers and half of a whole response, then cuts the connection.</summary>
    CutBody,

    /// <summary>A whole response of more than 64 MiB (leading whitespace, then the ordinary body with its usage).</summary>
    Oversize,
}
