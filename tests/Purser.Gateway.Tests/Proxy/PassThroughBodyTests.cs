using System.Text;
using System.Text.Json.Nodes;
using Purser.Gateway.Budgets;
using Purser.Gateway.Proxy;
using Purser.Gateway.Wire;
using Purser.Gateway.Validation;

namespace Purser.Gateway.Tests.Proxy;

/// <summary>
/// The scanned fast path gives the provider the same JSON, field for field and in the same order, as the general
/// JsonObject path; and it turns away every body that path would treat differently.
/// </summary>
public sealed class PassThroughBodyTests
{
    public static TheoryData<string, bool, int?, bool> SameFormatBodies => new()
    {
        // body, anthropic caller, max tokens the gateway sets (null: the caller's stay), provider wants max_completion_tokens
        { """{"model":"a","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""", false, null, false },
        { """{"model":"a","messages":[{"role":"user","content":"hi"}],"temperature":0.5}""", false, 100, false },
        { """{"model":"a","max_tokens":null,"messages":[],"user":"u"}""", false, 100, false },
        { """{"model":"a","max_tokens":64,"messages":[]}""", false, 32, false },
        { """{"model":"a","max_tokens":64,"messages":[],"n":1}""", false, null, true },
        { """{"model":"a","messages":[],"n":1}""", false, 50, true },
        { """{"model":"a","stream":true,"messages":[{"role":"user","content":"x"}]}""", false, 50, false },
        { """{"model":"a","stream":true,"max_tokens":9,"messages":[]}""", false, null, true },
        { """{"model":"a","stream":false,"stream_options":{"include_usage":false},"messages":[]}""", false, 10, false },
        { """{"model":"a","max_completion_tokens":7,"messages":[]}""", false, null, true },
        { "{ \"model\" : \"a\" ,\n \"messages\" : [ {\"role\":\"user\",\"content\":\"caf\u00e9 \\u00e9 \\n \\\"q\\\" <b>&</b> \ud83d\ude00\"} ] , \"seed\": 1.5e3 }", false, 20, false },
        { """{"model":"a","max_completion_tokens":7,"messages":[]}""", false, 3, true },
        { """{"model":"a","max_completion_tokens":7,"messages":[]}""", false, 3, false },
        { """{"model":"a","max_completion_tokens":7,"stream":true,"messages":[],"n":3}""", false, 3, false },
        { """{"model":"a","messages":[],"n":4,"service_tier":"priority"}""", false, 3, false },
        { """{"model":"claude","max_tokens":9,"messages":[{"role":"user","content":[{"type":"text","text":"t","cache_control":{"type":"ephemeral","ttl":"1h"}}]}]}""", true, null, false },
        { """{"model":"claude","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"t"}]}],"system":"s"}""", true, null, false },
        { """{"model":"claude","messages":[],"max_completion_tokens":"any"}""", true, 300, false },
        { """{"model":"claude","stream":true,"messages":[],"max_tokens":null}""", true, 300, false },
    };

    public static TheoryData<string> BodiesForTheGeneralPath => new()
    {
        """{"model":"a","model":"b","messages":[]}""",
        """{"model":"a","messages":[{"role":"user","role":"system","content":"x"}]}""",
        """{"model":"a","messages":[{"role":"user","content":[{"type":"text","type":"image_url"}]}]}""",
        """{"\u006dodel":"a","messages":[]}""",
        """{"model":"a","messages":[{"role":"user","content":"\ud800 lone"}]}""",
        """{"model":"a","messages":[{"role":"user","content":"pair \ud83d\ude00"}]}""",
        """{"model":"","messages":[]}""",
        """{"model":5,"messages":[]}""",
        """{"messages":[]}""",
        """{"model":"a"}""",
        """{"model":"a","messages":{}}""",
        """{"model":"a","messages":[],"stream":"yes"}""",
        """{"model":"a","messages":[],"max_tokens":0}""",
        """{"model":"a","messages":[],"max_tokens":"5"}""",
        """{"model":"a","messages":[],"max_tokens":2.5}""",
        """{"model":"a","messages":[],"max_tokens":5,"max_completion_tokens":6}""",
        """{"model":"a","messages":[],"stream":true,"stream_options":{"include_usage":true}}""",
        """{"model":"a","messages":[]} x""",
        """{"model":"a","messages":[],"tools":[{"type":"function","function":{"name":"f"}}]}""",
        """{"model":"a","messages":[],"n":0}""",
        """{"model":"a","messages":[],"n":"2"}""",
        """{"model":"a","messages":[],"service_tier":"ultra"}""",
        """{"model":"a","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"u"}}]}]}""",
        """{"model":"a","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"f"}}]}]}""",
        """{"model":"a","messages":[{"role":"user","content":[{"type":"tool_result","content":[{"type":"document"}]}]}]}""",
        """{"model":"a","messages":[],"web_search_options":{}}""",
        """{"model":"a","messages":[],}""",
        """[1]""",
        "",
    };

    [Theory]
    [MemberData(nameof(SameFormatBodies))]
    public void The_rewritten_body_is_the_json_object_paths_body(string text, bool anthropic, int? setMaxTokens, bool usesMaxCompletionTokens)
    {
        var format = anthropic ? ApiFormat.Anthropic : ApiFormat.OpenAI;
        var body = Encoding.UTF8.GetBytes(text);
        Assert.True(ChatRequestScan.TryScan(body, format, out var scan));
        var parsed = RequestBody.Parse(body).Json!;
        Assert.Null(ChatRequestChecks.ValidateShape(parsed, format, out var alias, out var stream, out var maxTokens));
        Assert.Equal(alias, scan.Alias);
        Assert.Equal(stream, scan.Stream);
        Assert.Equal(maxTokens, scan.MaxTokens);
        Assert.Null(RequestShapes.Read(parsed, format, body.Length, out var shape));
        var scanned = scan.Shape(body.Length);
        Assert.Equal((shape.TextBytes, shape.Choices, shape.Tier, shape.CacheWrites, shape.Images.Count, shape.UnsizedContent, shape.Tools, shape.ServerTools.Count, shape.Unbounded),
            (scanned.TextBytes, scanned.Choices, scanned.Tier, scanned.CacheWrites, scanned.Images.Count, scanned.UnsizedContent, scanned.Tools, scanned.ServerTools.Count, scanned.Unbounded));

        using var output = new PooledBufferWriter();
        PassThroughBody.Write(body, scan, output, "up-model", setMaxTokens, stream && !anthropic, usesMaxCompletionTokens);

        Assert.Equal(JsonObjectPath(parsed, anthropic, setMaxTokens, stream && !anthropic, usesMaxCompletionTokens), JsonNode.Parse(output.WrittenSpan)!.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(BodiesForTheGeneralPath))]
    public void Bodies_the_json_object_path_treats_differently_are_not_scanned(string text)
    {
        Assert.False(ChatRequestScan.TryScan(Encoding.UTF8.GetBytes(text), ApiFormat.OpenAI, out _));
    }

    [Fact]
    public void Invalid_utf8_is_not_scanned()
    {
        byte[] body = [.. Encoding.UTF8.GetBytes("{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\""), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\"}]}")];

        Assert.False(ChatRequestScan.TryScan(body, ApiFormat.OpenAI, out _));
    }

    /// <summary>What ChatProxy does to a same-format request on its JsonObject path (BuildUpstreamBody, then the rename).</summary>
    private static string JsonObjectPath(JsonObject upstream, bool anthropic, int? setMaxTokens, bool addStreamUsage, bool usesMaxCompletionTokens)
    {
        upstream["model"] = "up-model";
        if (setMaxTokens is { } set && (anthropic || !upstream.ContainsKey("max_completion_tokens")))
        {
            upstream["max_tokens"] = set;
        }

        if (addStreamUsage)
        {
            var options = upstream["stream_options"] as JsonObject ?? [];
            options["include_usage"] = true;
            upstream["stream_options"] = options;
        }

        if (!anthropic)
        {
            TokenLimitFields.Apply(upstream, setMaxTokens, usesMaxCompletionTokens);
        }

        return upstream.ToJsonString();
    }
}
