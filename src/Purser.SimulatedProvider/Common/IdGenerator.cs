namespace Purser.SimulatedProvider.Common;

/// <summary>Unique, provider-looking ids ("chatcmpl-…", "msg_…") without Guid formatting or locks.</summary>
internal sealed class IdGenerator
{
    private readonly ulong salt = (ulong)Random.Shared.NextInt64();
    private long counter;

    public string Next(string prefix)
    {
        ulong value = salt ^ (ulong)Interlocked.Increment(ref counter) * 0x9E3779B97F4A7C15UL;
        return string.Create(prefix.Length + 24, (prefix, value, salt), static (span, state) =>
        {
            state.prefix.AsSpan().CopyTo(span);
            const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            ulong v = state.value;
            ulong s = state.salt;
            for (int i = state.prefix.Length; i < span.Length; i++)
            {
                if (v == 0)
                {
                    v = s = (s * 6364136223846793005UL) + 1442695040888963407UL;
                }

                span[i] = alphabet[(int)(v % (ulong)alphabet.Length)];
                v /= (ulong)alphabet.Length;
            }
        });
    }
}
