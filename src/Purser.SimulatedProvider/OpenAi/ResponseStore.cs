using System.Collections.Concurrent;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary>
/// The responses created with <c>store: true</c>, by id, for <c>previous_response_id</c>, <c>GET</c>, <c>DELETE</c>,
/// <c>cancel</c> and <c>input_items</c>. In memory, for the life of the simulator. A background response is queued
/// when created and completes when it is first retrieved (the simulator's stand-in for "some time later"), or after
/// <c>queued=N</c> retrievals that find it still queued.
/// </summary>
internal sealed class ResponseStore
{
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);

    public void Add(ResponseRun run, ResponseJson.Stage stage) => entries[run.Id] = new Entry(run, stage);

    public bool TryGet(string id, out Entry entry) => entries.TryGetValue(id, out entry!);

    public bool Remove(string id) => entries.TryRemove(id, out _);

    /// <summary>One stored response and where it stands.</summary>
    internal sealed class Entry
    {
        private int stage;
        private int queuedRetrievals;

        public Entry(ResponseRun run, ResponseJson.Stage stage)
        {
            Run = run;
            this.stage = (int)stage;
            queuedRetrievals = run.QueuedRetrievals;
        }

        public ResponseRun Run { get; }

        public ResponseJson.Stage Stage => (ResponseJson.Stage)Volatile.Read(ref stage);

        /// <summary>A queued response moves on: to finished when retrieved, to cancelled when cancelled; others stay as they are.</summary>
        public ResponseJson.Stage Advance(ResponseJson.Stage to)
        {
            // queued=N: a retrieval of a response still "running" answers it queued, N times.
            if (to == ResponseJson.Stage.Finished && Interlocked.Decrement(ref queuedRetrievals) >= 0)
            {
                return Stage;
            }

            Interlocked.CompareExchange(ref stage, (int)to, (int)ResponseJson.Stage.Queued);
            return Stage;
        }
    }
}
