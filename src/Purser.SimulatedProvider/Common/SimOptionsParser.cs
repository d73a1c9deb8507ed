using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Purser.SimulatedProvider.Common;

/// <summary>Parses options from the model name (after '~', comma separated) then headers, so headers win.</summary>
internal static class SimOptionsParser
{
    private static readonly (string Header, string Key)[] Headers =
    [
        ("x-sim-out", "out"),
        ("x-sim-latency", "latency"),
        ("x-sim-ttft", "ttft"),
        ("x-sim-tps", "tps"),
        ("x-sim-fail", "fail"),
        ("x-sim-cached", "cached"),
        ("x-sim-chunk", "chunk"),
        ("x-sim-reason", "reason"),
        ("x-sim-searches", "searches"),
        ("x-sim-queued", "queued"),
    ];

    public static bool TryParse(string model, IHeaderDictionary headers, out SimOptions options, out string error)
    {
        options = new SimOptions();
        error = string.Empty;
        int tilde = model.IndexOf('~', StringComparison.Ordinal);
        if (tilde >= 0)
        {
            foreach (Range range in model.AsSpan(tilde + 1).Split(','))
            {
                ReadOnlySpan<char> part = model.AsSpan(tilde + 1)[range].Trim();
                if (part.IsEmpty)
                {
                    continue;
                }

                int eq = part.IndexOf('=');
                if (eq <= 0 || !TryApply(options, part[..eq].Trim(), part[(eq + 1)..].Trim(), out error))
                {
                    error = error.Length > 0 ? error : $"Invalid simulator option '{part}' in model name.";
                    return false;
                }
            }
        }

        foreach ((string header, string key) in Headers)
        {
            if (headers.TryGetValue(header, out var values) && values.Count > 0 && !string.IsNullOrEmpty(values[0]))
            {
                if (!TryApply(options, key, values[0].AsSpan().Trim(), out error))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool TryApply(SimOptions options, ReadOnlySpan<char> key, ReadOnlySpan<char> value, out string error)
    {
        error = string.Empty;
        switch (key)
        {
            case "out":
                return TryInt(key, value, 0, options, static (o, v) => o.Out = v, out error);
            case "latency":
                return TryInt(key, value, 0, options, static (o, v) => o.LatencyMs = v, out error);
            case "ttft":
                return TryInt(key, value, 0, options, static (o, v) => o.TtftMs = v, out error);
            case "tps":
                return TryInt(key, value, 0, options, static (o, v) => o.TokensPerSecond = v, out error);
            case "chunk":
                return TryInt(key, value, 1, options, static (o, v) => o.Chunk = v, out error);
            case "cached":
                return TryInt(key, value, 0, options, static (o, v) => o.Cached = v, out error);
            case "reason":
                return TryInt(key, value, 0, options, static (o, v) => o.Reason = v, out error);
            case "searches":
                return TryInt(key, value, 0, options, static (o, v) => o.Searches = v, out error);
            case "queued":
                return TryInt(key, value, 0, options, static (o, v) => o.Queued = v, out error);
            case "fail":
                return TryFail(options, value, out error);
            default:
                error = $"Unknown simulator option '{key}'.";
                return false;
        }
    }

    private static bool TryInt(ReadOnlySpan<char> key, ReadOnlySpan<char> value, int min, SimOptions options, Action<SimOptions, int> set, out string error)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed) && parsed >= min)
        {
            set(options, parsed);
            error = string.Empty;
            return true;
        }

        error = $"Simulator option '{key}' must be an integer >= {min}, got '{value}'.";
        return false;
    }

    private static bool TryFail(SimOptions options, ReadOnlySpan<char> value, out string error)
    {
        error = string.Empty;
        switch (value)
        {
            case "429" or "500" or "503" or "529":
                options.Fail = FailMode.Status;
                options.FailStatus = int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
                return true;
            case "timeout":
                options.Fail = FailMode.Timeout;
                return true;
            case "malformed_json":
                options.Fail = FailMode.MalformedJson;
                return true;
            case "malformed_sse":
                options.Fail = FailMode.MalformedSse;
                return true;
            case "huge_usage":
                options.Fail = FailMode.HugeUsage;
                return true;
            case "no_usage":
                options.Fail = FailMode.NoUsage;
                return true;
            case "json_stream":
                options.Fail = FailMode.JsonStream;
                return true;
            case "cut_body":
                options.Fail = FailMode.CutBody;
                return true;
            case "oversize":
                options.Fail = FailMode.Oversize;
                return true;
        }

        if (value.StartsWith("cut:", StringComparison.Ordinal)
            && int.TryParse(value[4..], NumberStyles.None, CultureInfo.InvariantCulture, out int k))
        {
            options.Fail = FailMode.Cut;
            options.CutAfter = k;
            return true;
        }

        error = $"Unknown simulator failure '{value}' (use 429, 500, 503, 529, timeout, malformed_json, malformed_sse, huge_usage, no_usage, json_stream, cut_body, oversize or cut:K).";
        return false;
    }
}
