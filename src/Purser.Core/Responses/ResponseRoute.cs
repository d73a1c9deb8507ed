using Purser.Pricing;

namespace Purser.Responses;

/// <summary>
/// What the gateway remembers of a stored OpenAI Responses API response it relayed: which key created it (only that
/// key may reach it again), which provider and model served it (where <c>GET</c>, <c>DELETE</c>, <c>cancel</c> and
/// <c>input_items</c> are forwarded), and, for a <c>background</c> response not yet settled, its open hold: the hold id,
/// the amount held and the input bound, so the retrieval that first sees it finished settles it from its usage.
/// <see cref="ConversationTokens"/> bounds what a response continuing this one (<c>previous_response_id</c>) is billed
/// again as input: this response's input and output tokens; null while unknown (a pending background response).
/// </summary>
public sealed record ResponseRoute(
    string ResponseId,
    string KeyId,
    string Provider,
    string ModelAlias,
    string UpstreamModel,
    DateTimeOffset CreatedAt,
    string? PendingHoldId = null,
    Money PendingHoldAmount = default,
    long PendingInputBound = 0,
    long? ConversationTokens = null);
