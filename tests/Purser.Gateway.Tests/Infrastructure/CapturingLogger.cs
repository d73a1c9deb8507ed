using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Purser.Gateway.Tests.Infrastructure;

/// <summary>A logger that keeps every entry, for tests that check a failure was logged (and with which exception).</summary>
internal sealed class CapturingLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<(LogLevel Level, EventId Id, Exception? Exception)> _entries = new();

    public IReadOnlyList<(LogLevel Level, EventId Id, Exception? Exception)> Entries => [.. _entries];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((logLevel, eventId, exception));
}
