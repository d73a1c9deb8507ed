namespace Purser.Gateway.Telemetry;

/// <summary>
/// Who and what a request is about, as metrics and events name it: a snapshot of the pipeline's call, so that the
/// folders below the pipeline (telemetry, budgets) need not know its type.
/// </summary>
internal readonly record struct CallSubject(string RequestId, string KeyId, string Operation, string ModelAlias, string Provider, string UpstreamModel);
