namespace Purser.Budgets;

/// <summary>
/// The slot locks of <see cref="LeasedBudgetLedger"/>: a request's slots are always locked in counter (byte) order and
/// released in reverse, so two requests sharing counters never wait on each other in a cycle.
/// </summary>
internal static class LeaseSlotLocks
{
    /// <summary>Slot indexes in counter order: every multi-slot lock follows it.</summary>
    public static int[] Order(LeaseSlot[] slots)
    {
        var order = new int[slots.Length];
        for (var i = 0; i < order.Length; i++)
        {
            var j = i;
            while (j > 0 && Compare(slots[order[j - 1]].Key, slots[i].Key) > 0)
            {
                order[j] = order[j - 1];
                j--;
            }

            order[j] = i;
        }

        return order;
    }

    public static void Enter(LeaseSlot[] slots, int[] order)
    {
        foreach (var i in order)
        {
            slots[i].Gate.Enter();
        }
    }

    public static void Exit(LeaseSlot[] slots, int[] order)
    {
        for (var k = order.Length - 1; k >= 0; k--)
        {
            slots[order[k]].Gate.Exit();
        }
    }

    private static int Compare(CounterKey a, CounterKey b)
    {
        var c = string.CompareOrdinal(a.BudgetId, b.BudgetId);
        return c != 0 ? c : string.CompareOrdinal(a.WindowKey, b.WindowKey);
    }
}
