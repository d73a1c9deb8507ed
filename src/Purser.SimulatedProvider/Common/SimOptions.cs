namespace Purser.SimulatedProvider.Common;

/// <summary>Per-request behaviour, from the model name suffix (<c>sim-4o~out=64,ttft=20</c>) and <c>x-sim-*</c> headers.</summary>
internal sealed class SimOptions
{
    public const int DefaultOut = 20;

    public int Out { get; set; } = DefaultOut;

    public int LatencyMs { get; set; }

    public int TtftMs { get; set; }

    public int TokensPerSecond { get; set; }

    public int Chunk { get; set; } = 1;

    public int Cached { get; set; }

    public FailMode Fail { get; set; }

    public int FailStatus { get; set; }

    public int CutAfter { get; set; }
}
