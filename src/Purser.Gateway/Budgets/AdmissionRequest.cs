using Purser.Gateway.Configuration;
using Purser.Pricing;

namespace Purser.Gateway.Budgets;

/// <summary>
/// What admission needs to know about a request: its path, its model and price, and its worst case. A request made of
/// several calls (an ensemble) gives its whole worst case as <see cref="FixedAmount"/> and <see cref="FixedTokens"/>.
/// A chat request gives its <see cref="Shape"/>, from which admission computes the worst case on each model it tries
/// (<see cref="WorstCases"/>); without one, the worst case is <see cref="InputTokenBound"/> (computed by <see cref="WorstCases"/> too) of input and
/// <see cref="MaxTokens"/> of output. <see cref="ExactCountBody"/> is an OpenAI-format body sent as is: when the byte
/// bound would refuse or degrade it on an OpenAI-family model, its messages are counted exactly (<see cref="Tokenizers.ExactInputTokens"/>).
/// With <see cref="Reservation"/>, the worst case is drawn from that reservation (never degraded).
/// </summary>
internal sealed record AdmissionRequest(
    string HoldId,
    GatewayState State,
    IReadOnlyList<PathLine> Lines,
    Money? Hint,
    ResolvedModel Model,
    ModelPrice Price,
    long InputTokenBound,
    int MaxTokens,
    TimeSpan HoldTtl,
    bool AllowDegrade = true,
    Money? FixedAmount = null,
    long? FixedTokens = null,
    RequestShape? Shape = null,
    ReadOnlyMemory<byte> ExactCountBody = default,
    ReservationDraw? Reservation = null);

/// <summary>Draw the request's worst case from reservation <paramref name="Id"/> of key <paramref name="KeyId"/> instead of the budgets' headroom.</summary>
internal sealed record ReservationDraw(string Id, string KeyId);
