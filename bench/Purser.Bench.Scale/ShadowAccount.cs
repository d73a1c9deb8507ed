namespace Purser.Bench.Scale;

/// <summary>
/// The driver's exact account of the real requests, against the tightest cap (every request draws on all three budgets,
/// so the key budget, whose cap is lowest, is the one that binds). Room = cap − (Σ settled actual costs + Σ worst cases
/// of granted, unsettled requests + Σ worst cases of requests in admission). A request enters admission before it calls
/// the ledger and is counted granted or settled only after the ledger answered, so the shadow never shows room the
/// ledger could not yet see. Room only falls when a request enters admission; every such fall is recorded, so the lowest
/// room during one admission call is known exactly. A refusal is false when the room stayed ≥ 0 (this request's worst
/// case included) for the whole call: the cap had room for it whatever the concurrent requests did. Thread-safe.
/// </summary>
internal sealed class ShadowAccount
{
    private readonly object _gate = new();
    private readonly long _cap;
    private readonly long _awayRoom;
    private readonly long _nearRoom;
    private readonly long _closingRoom;
    private readonly long[] _roomAfterStart;
    private readonly int _startRequests;
    private long _spent;
    private long _inFlight;
    private long _admitting;
    private int _starts;
    private int _phase;

    /// <param name="startRequests">How many of the first requests form the start-up phase (while the room is still away from the cap).</param>
    public ShadowAccount(long tightestCap, long largestWorstCase, int maxRequests, int startRequests)
    {
        _startRequests = startRequests;
        _cap = tightestCap;
        _awayRoom = tightestCap / 2;
        _nearRoom = 100 * largestWorstCase;
        _closingRoom = largestWorstCase;
        _roomAfterStart = new long[maxRequests];
    }

    /// <summary>The run's phase: the furthest any admission has reached.</summary>
    public ScalePhase Phase => (ScalePhase)Volatile.Read(ref _phase);

    /// <summary>Σ actual costs of the settled requests.</summary>
    public long Spent
    {
        get
        {
            lock (_gate)
            {
                return _spent;
            }
        }
    }

    /// <summary>Worst cases still in admission or granted and unsettled (0 once the run drained).</summary>
    public long Outstanding
    {
        get
        {
            lock (_gate)
            {
                return _inFlight + _admitting;
            }
        }
    }

    /// <summary>A request enters admission: returns its start mark and the phase it is counted in.</summary>
    public (int Mark, ScalePhase Phase) Begin(long worst)
    {
        lock (_gate)
        {
            var room = _cap - _spent - _inFlight - _admitting;
            var phase = room >= _awayRoom ? (_starts < _startRequests ? ScalePhase.Start : ScalePhase.Away)
                : room >= _nearRoom ? ScalePhase.Near
                : room >= _closingRoom ? ScalePhase.Closing
                : ScalePhase.Past;
            if ((int)phase > _phase)
            {
                Volatile.Write(ref _phase, (int)phase);
            }

            _admitting += worst;
            var mark = _starts++;
            _roomAfterStart[mark] = room - worst;
            return (mark, (ScalePhase)_phase);
        }
    }

    public void Granted(long worst)
    {
        lock (_gate)
        {
            _admitting -= worst;
            _inFlight += worst;
        }
    }

    /// <summary>The ledger refused: returns whether the cap had room for the request throughout its admission call.</summary>
    public bool Refused(int mark, long worst)
    {
        lock (_gate)
        {
            _admitting -= worst;
            var lowest = long.MaxValue;
            for (var i = mark; i < _starts; i++)
            {
                lowest = Math.Min(lowest, _roomAfterStart[i]);
            }

            return lowest >= 0;
        }
    }

    /// <summary>The ledger could not be reached: nothing was held (the gateway answers 503).</summary>
    public void Unavailable(long worst)
    {
        lock (_gate)
        {
            _admitting -= worst;
        }
    }

    /// <summary>The ledger settled a granted request (called after the ledger answered).</summary>
    public void Settled(long worst, long actual)
    {
        lock (_gate)
        {
            _inFlight -= worst;
            _spent += actual;
        }
    }
}
