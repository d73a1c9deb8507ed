namespace Purser.Bench.Scale;

/// <summary>One phase of one run: its requests, how they fared (granted, refused, or the ledger unavailable: a 503), the ledger's database calls and admission latency.</summary>
internal sealed record PhaseResult(
    ScalePhase Phase,
    int Requests,
    int Granted,
    int Refused,
    int FalseRefusals,
    int Unavailable,
    long LedgerCalls,
    double AdmissionP50Micros,
    double AdmissionP99Micros)
{
    public double CallsPerRequest => Requests == 0 ? 0 : (double)LedgerCalls / Requests;

    public double FalseRefusalRate => Requests == 0 ? 0 : (double)FalseRefusals / Requests;
}
