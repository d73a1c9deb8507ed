namespace Purser.SimulatedProvider.Common;

/// <summary>Unique, provider-looking ids ("chatcmpl-…", "msg_…") without Guid formatting or locks.</summary>
internal sealed class IdGenerator
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private const int Length = 24;
    private const int CharsPerWord = 10;

    private readonly ulong salt = (ulong)Random.Shared.NextInt64();
    private long counter;

    public string Next(string prefix)
    {
        ulong seed = salt + ((ulong)Interlocked.Increment(ref counter) * 0x9E3779B97F4A7C15UL);
        return string.Create(prefix.Length + Length, (prefix, seed), static (span, state) =>
        {
            state.prefix.AsSpan().CopyTo(span);
            ulong s = state.seed;
            ulong word = 0;
            for (int i = 0; i < Length; i++)
            {
                if (i % CharsPerWord == 0)
                {
                    // SplitMix64 is a bijection, so distinct counters give distinct leading characters.
                    s += 0x9E3779B97F4A7C15UL;
                    word = s;
                    word = (word ^ (word >> 30)) * 0xBF58476D1CE4E5B9UL;
                    word = (word ^ (word >> 27)) * 0x94D049BB133111EBUL;
                    word ^= word >> 31;
                }

                span[state.prefix.Length + i] = Alphabet[(int)(word % (ulong)Alphabet.Length)];
                word /= (ulong)Alphabet.Length;
            }
        });
    }
}
