using Purser.Configuration;
using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

public sealed class ConfigValidationTests
{
    [Fact]
    public void Syntax_error_reports_the_line_from_the_parser()
    {
        var error = SingleError("""
            server:
              listen: http://127.0.0.1:8080
              max_body_bytes: "unterminated
            """);

        Assert.Equal(3, error.Line);
        Assert.Equal(string.Empty, error.Field);
        Assert.StartsWith("invalid YAML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unclosed_flow_mapping_is_an_error_not_an_exception()
    {
        var error = SingleError("a: {x: 1\nb: 2\n");

        Assert.StartsWith("invalid YAML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_field_is_reported_at_its_second_occurrence()
    {
        var error = SingleError("""
            server:
              listen: http://127.0.0.1:8080
              listen: http://127.0.0.1:9090
            """);

        Assert.Equal(3, error.Line);
        Assert.Equal("duplicate field 'listen'", error.Message);
    }

    [Fact]
    public void Unknown_field_is_an_error_with_a_suggestion()
    {
        var error = SingleError("""
            providers:
              p: { kind: openai }
            models:
              m:
                provider: p
                pricee: { input: 1, output: 2 }
            """);

        Assert.Equal("purser.yaml:6: models.m: unknown field 'pricee' (did you mean 'price'?)", error.ToString());
    }

    [Fact]
    public void Unknown_top_level_section_is_an_error()
    {
        var error = SingleError("servers:\n  listen: http://x\n");

        Assert.Equal(1, error.Line);
        Assert.Equal(string.Empty, error.Field);
        Assert.Equal("unknown field 'servers' (did you mean 'server'?)", error.Message);
    }

    [Fact]
    public void List_where_a_mapping_is_wanted_is_a_type_error()
    {
        var error = SingleError("""
            server:
              - listen
            """);

        Assert.Equal("server", error.Field);
        Assert.Equal(2, error.Line);
        Assert.Equal("expected a mapping (field: value), got a list", error.Message);
    }

    [Fact]
    public void Text_where_a_number_is_wanted_is_a_type_error()
    {
        var error = SingleError("""
            server:
              max_body_bytes: abc
            """);

        Assert.Equal("purser.yaml:2: server.max_body_bytes: expected a whole number, got 'abc'", error.ToString());
    }

    [Fact]
    public void Mapping_where_a_value_is_wanted_is_a_type_error()
    {
        var error = SingleError("""
            server:
              listen:
                host: localhost
            """);

        Assert.Equal("server.listen", error.Field);
        Assert.Equal("expected a single value, got a mapping", error.Message);
    }

    [Fact]
    public void Keys_written_as_a_mapping_is_a_type_error()
    {
        var error = SingleError("keys:\n  a: b\n");

        Assert.Equal("keys", error.Field);
        Assert.Equal("expected a list, got a mapping", error.Message);
    }

    [Theory]
    [InlineData("upstream_timeout_seconds: 0", "server.upstream_timeout_seconds", "must be between 1 and 3600, got '0'")]
    [InlineData("upstream_timeout_seconds: 3601", "server.upstream_timeout_seconds", "must be between 1 and 3600, got '3601'")]
    [InlineData("max_body_bytes: 0", "server.max_body_bytes", "must be at least 1, got '0'")]
    [InlineData("max_body_bytes: -5", "server.max_body_bytes", "must be at least 1, got '-5'")]
    [InlineData("max_open_tasks_per_key: 0", "server.max_open_tasks_per_key", "must be between 1 and 1000000, got '0'")]
    public void Out_of_range_numbers_are_errors(string line, string field, string message)
    {
        var error = SingleError("server:\n  " + line + "\n");

        Assert.Equal(2, error.Line);
        Assert.Equal(field, error.Field);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Unknown_provider_is_reported_on_the_provider_line()
    {
        var error = SingleError("""
            providers:
              openai:
                kind: openai
            models:
              gpt-4o:
                upstream: gpt-4o
                provider: foo
            """);

        Assert.Equal("purser.yaml:7: models.gpt-4o.provider: unknown provider 'foo'", error.ToString());
    }

    [Fact]
    public void Model_without_provider_is_an_error()
    {
        var error = SingleError("models:\n  m:\n    upstream: x\n");

        Assert.Equal("models.m.provider", error.Field);
        Assert.Equal(2, error.Line);
        Assert.Equal("is required", error.Message);
    }

    [Fact]
    public void A_model_pointing_at_an_invalid_provider_does_not_also_report_unknown_provider()
    {
        var result = Parse("""
            providers:
              p: { kind: opneai }
            models:
              m: { provider: p, free: true }
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("providers.p.kind", error.Field);
        Assert.Equal("unknown kind 'opneai' (expected openai, anthropic or azure_openai)", error.Message);
    }

    [Theory]
    [InlineData("listen: localhost:8080")]
    [InlineData("listen: ftp://127.0.0.1/")]
    [InlineData("listen: /relative/path")]
    public void Bad_listen_url_is_an_error(string line)
    {
        var error = SingleError("server:\n  " + line + "\n");

        Assert.Equal("server.listen", error.Field);
        Assert.Equal(2, error.Line);
        Assert.StartsWith("expected an absolute http:// or https:// URL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_base_url_is_an_error()
    {
        var error = SingleError("providers:\n  p:\n    kind: openai\n    base_url: api.openai.com/v1\n");

        Assert.Equal("purser.yaml:4: providers.p.base_url: expected an absolute http:// or https:// URL, got 'api.openai.com/v1'", error.ToString());
    }

    [Fact]
    public void Bad_provider_name_is_an_error()
    {
        var error = SingleError("providers:\n  OpenAI:\n    kind: openai\n");

        Assert.Equal("providers.OpenAI", error.Field);
        Assert.Equal(2, error.Line);
    }

    [Theory]
    [InlineData("kind: chatt", "models.m.kind", "unknown kind 'chatt' (expected chat or embeddings)")]
    [InlineData("free: maybe", "models.m.free", "expected true or false, got 'maybe'")]
    public void Bad_enum_or_bool_is_an_error(string line, string field, string message)
    {
        var error = SingleError("providers:\n  p: { kind: openai }\nmodels:\n  m:\n    provider: p\n    " + line + "\n");

        Assert.Equal(6, error.Line);
        Assert.Equal(field, error.Field);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Default_max_tokens_above_max_output_tokens_is_an_error()
    {
        var error = SingleError("""
            providers:
              p: { kind: openai }
            models:
              m:
                provider: p
                max_output_tokens: 1000
                default_max_tokens: 2000
            """);

        Assert.Equal("purser.yaml:7: models.m.default_max_tokens: 2000 is above max_output_tokens (1000)", error.ToString());
    }

    [Fact]
    public void Default_max_tokens_above_the_catalog_ceiling_is_an_error()
    {
        var error = SingleError("""
            providers:
              p: { kind: anthropic }
            models:
              haiku:
                provider: p
                upstream: claude-3-5-haiku-20241022
                default_max_tokens: 9000
            """);

        Assert.Equal("models.haiku.default_max_tokens", error.Field);
        Assert.Equal("9000 is above max_output_tokens (8192)", error.Message);
    }

    [Fact]
    public void Free_and_price_together_is_a_conflict()
    {
        var error = SingleError("""
            providers:
              p: { kind: openai }
            models:
              m:
                provider: p
                price: { input: 1, output: 1 }
                free: true
            """);

        Assert.Equal(7, error.Line);
        Assert.Equal("models.m.free", error.Field);
        Assert.Contains("conflicts with price", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Free_false_with_price_is_fine()
    {
        var config = ParseValid("providers:\n  p: { kind: openai }\nmodels:\n  m: { provider: p, free: false, price: { input: 1, output: 2 } }\n");

        Assert.Equal(1_000_000_000, config.Models["m"].Price!.InputPerMillion);
    }

    [Theory]
    [InlineData("input: -1, output: 1", "models.m.price.input", "must not be negative")]
    [InlineData("input: 1, output: 0.0000000001", "models.m.price.output", "more than 9 decimal places: prices are exact to the nano-dollar per million tokens")]
    [InlineData("input: abc, output: 1", "models.m.price.input", "expected a decimal number of USD per million tokens, got 'abc'")]
    [InlineData("input: 1e3, output: 1", "models.m.price.input", "expected a decimal number of USD per million tokens, got '1e3'")]
    [InlineData("input: 1", "models.m.price.output", "is required (USD per million tokens)")]
    [InlineData("input: 1, output: 1, max_output_tokens: 5", "models.m.price", "unknown field 'max_output_tokens'")]
    public void Bad_prices_are_errors(string fields, string field, string message)
    {
        var error = SingleError("providers:\n  p: { kind: openai }\nmodels:\n  m:\n    provider: p\n    price: { " + fields + " }\n");

        Assert.Equal(6, error.Line);
        Assert.Equal(field, error.Field);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Price_with_exactly_nine_decimals_is_accepted()
    {
        var config = ParseValid("providers:\n  p: { kind: openai }\nmodels:\n  m: { provider: p, price: { input: 0.000000001, output: '123.456789012' } }\n");

        Assert.Equal(new Purser.Pricing.ModelPrice(1, 123_456_789_012), config.Models["m"].Price);
    }

    [Fact]
    public void Bad_prices_section_entry_is_reported_with_its_path()
    {
        var error = SingleError("prices:\n  my-llama: { input: 0.2, output: x }\n");

        Assert.Equal("purser.yaml:2: prices.my-llama.output: expected a decimal number of USD per million tokens, got 'x'", error.ToString());
    }

    [Fact]
    public void Duplicate_key_id_is_an_error()
    {
        var error = SingleError($"""
            keys:
              - id: a
                hash: {Hash('1')}
              - id: a
                hash: {Hash('2')}
            """);

        Assert.Equal("purser.yaml:4: keys[1].id: duplicate key id 'a' (also keys[0])", error.ToString());
    }

    [Fact]
    public void Duplicate_hash_is_an_error_even_when_one_comes_from_a_secret()
    {
        var secretHash = Purser.Keys.KeyHasher.Hash("sk-same");
        var error = SingleError($"""
            keys:
              - id: a
                hash: {secretHash}
              - id: b
                secret: {"${"}SAME{"}"}
            """, new() { ["SAME"] = "sk-same" });

        Assert.Equal(4, error.Line);
        Assert.Equal("keys[1].secret", error.Field);
        Assert.Equal("duplicate hash: same secret as keys[0]", error.Message);
    }

    [Theory]
    [InlineData("hash: sha256:abc")]
    [InlineData("hash: md5:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("hash: sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("hash: sk-purser-this-is-the-secret-pasted-by-mistake")]
    public void Bad_hash_format_is_an_error_that_does_not_echo_the_value(string line)
    {
        var error = SingleError("keys:\n  - id: a\n    " + line + "\n");

        Assert.Equal(3, error.Line);
        Assert.Equal("keys[0].hash", error.Field);
        Assert.StartsWith("expected 'sha256:' followed by 64 lowercase hex digits", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(line["hash: ".Length..], error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_admin_key_hash_is_an_error()
    {
        var error = SingleError("server:\n  admin_key_hash: sha256:nothex\n");

        Assert.Equal("server.admin_key_hash", error.Field);
        Assert.Equal(2, error.Line);
    }

    [Theory]
    [InlineData("id: a", "keys[0].hash", "is required (or secret: ${ENV_VAR}, hashed on load)")]
    [InlineData("hash: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "keys[0].id", "is required")]
    [InlineData("{ id: 'has space', hash: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa }", "keys[0].id", "key ids use only A-Z, a-z, 0-9, '_', '.' and '-'")]
    [InlineData("{ id: a, secret: x, hash: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa }", "keys[0].secret", "give either hash or secret, not both")]
    [InlineData("{ id: a, secret: '' }", "keys[0].secret", "must not be empty")]
    public void Key_identity_errors(string item, string field, string message)
    {
        var error = SingleError("keys:\n  - " + item + "\n");

        Assert.Equal(2, error.Line);
        Assert.Equal(field, error.Field);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Key_models_naming_an_unknown_alias_is_an_error_at_that_item()
    {
        var error = SingleError($"""
            providers:
              p: {"{"} kind: openai {"}"}
            models:
              known: {"{"} provider: p, free: true {"}"}
            keys:
              - id: a
                hash: {Hash('c')}
                models:
                  - known
                  - unknown
            """);

        Assert.Equal("purser.yaml:10: keys[0].models[1]: unknown model alias 'unknown'", error.ToString());
    }

    [Theory]
    [InlineData("2027-01-01")]
    [InlineData("2027-01-01T00:00:00")]
    [InlineData("next year")]
    public void Expiry_without_offset_is_an_error(string value)
    {
        var error = SingleError($"keys:\n  - id: a\n    hash: {Hash('d')}\n    expires_at: {value}\n");

        Assert.Equal(4, error.Line);
        Assert.Equal("keys[0].expires_at", error.Field);
        Assert.StartsWith("expected an ISO 8601 date-time with offset", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_errors_in_one_file_are_all_listed_in_line_order()
    {
        var result = Parse($"""
            server:
              listen: nowhere
              max_body_bytes: lots
            providers:
              good: {"{"} kind: openai {"}"}
              bad: {"{"} kind: grpc {"}"}
            models:
              m1: {"{"} provider: nobody {"}"}
              m2: {"{"} provider: good, colour: red {"}"}
              m3: {"{"} provider: good, max_output_tokens: 10, default_max_tokens: 20 {"}"}
            keys:
              - id: k
                hash: sha256:short
              - id: k
                hash: {Hash('e')}
                models: [m1, m9]
            """);

        Assert.False(result.Success);
        Assert.Null(result.Config);
        var rendered = result.Errors.Select(e => e.ToString()).ToArray();
        Assert.Equal(
            [
                "purser.yaml:2: server.listen: expected an absolute http:// or https:// URL, got 'nowhere'",
                "purser.yaml:3: server.max_body_bytes: expected a whole number, got 'lots'",
                "purser.yaml:6: providers.bad.kind: unknown kind 'grpc' (expected openai, anthropic or azure_openai)",
                "purser.yaml:8: models.m1.provider: unknown provider 'nobody'",
                "purser.yaml:9: models.m2: unknown field 'colour'",
                "purser.yaml:10: models.m3.default_max_tokens: 20 is above max_output_tokens (10)",
                "purser.yaml:13: keys[0].hash: expected 'sha256:' followed by 64 lowercase hex digits (purser can hash a key for you)",
                "purser.yaml:14: keys[1].id: duplicate key id 'k' (also keys[0])",
                "purser.yaml:16: keys[1].models[1]: unknown model alias 'm9'",
            ],
            rendered);
    }

    [Fact]
    public void Error_without_line_or_field_renders_compactly()
    {
        Assert.Equal("a.yaml: file not found", new ConfigError("a.yaml", null, string.Empty, "file not found").ToString());
        Assert.Equal("a.yaml:3: boom", new ConfigError("a.yaml", 3, string.Empty, "boom").ToString());
        Assert.Equal("a.yaml: x.y: boom", new ConfigError("a.yaml", null, "x.y", "boom").ToString());
    }

    [Fact]
    public void More_than_one_document_is_an_error()
    {
        var error = SingleError("server: {}\n---\nserver: {}\n");

        Assert.Equal("expected one YAML document, found 2", error.Message);
    }
}
