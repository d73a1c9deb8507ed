namespace Purser.Bench.Scale;

/// <summary>One phase of one run: its requests, how they fared (granted, refused, or the ledger unavailable: a 503), the ledger's database calls and admission latency.</summary>
internal sealed record PhaseResult(
    ScalePhase Phase,
    int Requests,
    int Granted,
    int Refused,
    int FalseRefusals,
    int Unavailable,
    long LeaseCalls,
    long PassThroughCalls,
    long SweepCalls,
    double Seconds,
    double AdmissionP50Micros,
    double AdmissionP99Micros)
{
    /// <summary>Every ledger call in the phase (each one database transaction).</summary>
    public long LedgerCalls => LeaseCalls + PassThroughCalls + SweepCalls;

    public double CallsPerRequest => Requests == 0 ? 0 : (double)LedgerCalls / Requests;

    public double FalseRefusalRate => Requests == 0 ? 0 : (double)FalseRefusals / Requests;
}
