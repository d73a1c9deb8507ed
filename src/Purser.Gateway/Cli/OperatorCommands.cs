using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Purser.Gateway.Cli;

/// <summary>
/// The commands that change a running gateway through its admin API: <c>keys</c>, <c>budgets</c>, <c>bedtime wake</c>,
/// <c>spend</c> and <c>limits</c>. Exit codes: 0 done, 1 the gateway refused or could not be reached, 2 the command line is incomplete.
/// </summary>
internal static class OperatorCommands
{
    public const string AdminKeyVariable = "PURSER_ADMIN_KEY";
    public const string UrlVariable = "PURSER_URL";

    private static readonly Option<string?> Url = new("--url")
    {
        Description = $"The gateway's address (default: ${UrlVariable}, else http://127.0.0.1:8080).",
        Recursive = true,
    };

    private static readonly Option<string?> AdminKey = new("--admin-key")
    {
        Description = $"The admin (master) key (default: ${AdminKeyVariable}).",
        Recursive = true,
    };

    public static IEnumerable<Command> Create()
    {
        yield return Keys();
        yield return Budgets();
        yield return Bedtime();
        yield return SpendCommand.Create(Url, AdminKey);
        yield return LimitsCommand.Create(Url, AdminKey);
    }

    /// <summary>Runs <paramref name="action"/> with a client for the gateway named on the command line.</summary>
    internal static async Task<int> WithClientAsync(ParseResult parse, Func<AdminClient, Task<int>> action)
    {
        var key = parse.GetValue(AdminKey) ?? Environment.GetEnvironmentVariable(AdminKeyVariable);
        if (string.IsNullOrEmpty(key))
        {
            await Console.Error.WriteLineAsync($"error: no admin key: pass --admin-key or set {AdminKeyVariable}.").ConfigureAwait(false);
            return 2;
        }

        var urlText = parse.GetValue(Url) ?? Environment.GetEnvironmentVariable(UrlVariable) ?? "http://127.0.0.1:8080";
        if (!Uri.TryCreate(urlText.EndsWith('/') ? urlText : urlText + "/", UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            await Console.Error.WriteLineAsync($"error: --url must be an http:// or https:// address, got '{urlText}'.").ConfigureAwait(false);
            return 2;
        }

        using var client = new AdminClient(url, key);
        return await action(client).ConfigureAwait(false);
    }

    internal static async Task<int> FailAsync(string error)
    {
        await Console.Error.WriteLineAsync("error: " + error).ConfigureAwait(false);
        return 1;
    }

    private static Command Keys()
    {
        var keys = new Command("keys", "List, create and revoke virtual keys; hash one for the configuration file.");
        keys.Options.Add(Url);
        keys.Options.Add(AdminKey);

        var list = new Command("list", "List every key: from the configuration file and created through the API.");
        list.SetAction((parse, ct) => WithClientAsync(parse, async client =>
        {
            var (body, error) = await client.GetAsync("admin/keys", ct).ConfigureAwait(false);
            if (error is not null)
            {
                return await FailAsync(error).ConfigureAwait(false);
            }

            var table = new TextTable("ID", "TEAM", "MODELS", "SOURCE", "CREATED", "EXPIRES", "REVOKED");
            foreach (var key in Data(body))
            {
                var models = key["models"] is JsonArray m && m.Count > 0 ? string.Join(',', m.Select(x => x?.GetValue<string>())) : "*";
                table.Add(Text(key, "id"), Text(key, "team"), models, Text(key, "source"), Text(key, "created_at"), Text(key, "expires_at"), Text(key, "revoked_at"));
            }

            Console.Write(table.ToString());
            return 0;
        }));
        keys.Subcommands.Add(list);

        var createId = new Argument<string>("id") { Description = "The new key's id (letters, digits, '.', '_', '-', ':')." };
        var team = new Option<string?>("--team") { Description = "The team the key is charged to." };
        var models = new Option<string[]>("--models") { Description = "Model aliases the key may call (default: all).", AllowMultipleArgumentsPerToken = true };
        var expires = new Option<string?>("--expires") { Description = "When the key stops working (ISO 8601 with an offset, e.g. 2027-01-01T00:00:00Z)." };
        var create = new Command("create", "Create a key; its secret is printed once and never again.") { createId, team, models, expires };
        create.SetAction((parse, ct) => WithClientAsync(parse, async client =>
        {
            var body = new JsonObject { ["id"] = parse.GetValue(createId) };
            if (parse.GetValue(team) is { } t)
            {
                body["team"] = t;
            }

            if (parse.GetValue(models) is { Length: > 0 } m)
            {
                body["models"] = new JsonArray([.. m.SelectMany(x => x.Split(',', StringSplitOptions.RemoveEmptyEntries)).Select(x => (JsonNode?)JsonValue.Create(x))]);
            }

            if (parse.GetValue(expires) is { } e)
            {
                body["expires_at"] = e;
            }

            var (created, error) = await client.SendAsync(HttpMethod.Post, "admin/keys", body, ct).ConfigureAwait(false);
            if (error is not null)
            {
                return await FailAsync(error).ConfigureAwait(false);
            }

            Console.WriteLine($"Created key '{Text(created!, "id")}'.");
            Console.WriteLine($"Secret (shown once, store it now): {Text(created!, "secret")}");
            return 0;
        }));
        keys.Subcommands.Add(create);

        var revokeId = new Argument<string>("id") { Description = "The key to revoke." };
        var revoke = new Command("revoke", "Revoke a key created through the API; it is refused from the next request on.") { revokeId };
        revoke.SetAction((parse, ct) => WithClientAsync(parse, async client =>
        {
            var id = parse.GetValue(revokeId)!;
            var (_, error) = await client.SendAsync(HttpMethod.Delete, "admin/keys/" + Uri.EscapeDataString(id), null, ct).ConfigureAwait(false);
            if (error is not null)
            {
                return await FailAsync(error).ConfigureAwait(false);
            }

            Console.WriteLine($"Revoked key '{id}'.");
            return 0;
        }));
        keys.Subcommands.Add(revoke);
        keys.Subcommands.Add(SecretCommands.Hash());
        return keys;
    }

    private static Command Budgets()
    {
        var budgets = new Command("budgets", "List budgets with their current window, and set caps.");
        budgets.Options.Add(Url);
        budgets.Options.Add(AdminKey);

        var list = new Command("list", "Every budget: cap, spent, held and remaining in its current window.");
        list.SetAction((parse, ct) => WithClientAsync(parse, async client =>
        {
            var (body, error) = await client.GetAsync("admin/budgets", ct).ConfigureAwait(false);
            if (error is not null)
            {
                return await FailAsync(error).ConfigureAwait(false);
            }

            var table = new TextTable("ID", "SCOPE", "WINDOW", "CAP_USD", "SPENT", "HELD", "REMAINING", "CAP_TOKENS", "ENFORCEMENT", "MODE", "SOURCE")
                .AlignRight("CAP_USD", "SPENT", "HELD", "REMAINING", "CAP_TOKENS");
            foreach (var b in Data(body))
            {
                var current = b["current"] as JsonObject ?? [];
                table.Add(Text(b, "id"), Text(b, "scope"), Text(b, "window"), Text(b, "cap_usd"), Text(current, "spent"), Text(current, "held"),
                    Text(current, "remaining"), Text(b, "cap_tokens"), Text(b, "enforcement"), Text(b, "mode"), Text(b, "source"));
            }

            Console.Write(table.ToString());
            return 0;
        }));
        budgets.Subcommands.Add(list);

        var id = new Argument<string>("id") { Description = "The budget's id (created or replaced)." };
        var scope = new Option<string>("--scope") { Description = "What it caps: org:<id>, team:<id>, key:<id>, tag:<tag>, global or user:* (each end user).", Required = true };
        var under = new Option<string?>("--under") { Description = "For user:*: the key:<id> or team:<id> whose end users it counts (default: every key)." };
        var model = new Option<string?>("--model") { Description = "Apply only to requests for this model alias." };
        var capUsd = new Option<string?>("--cap-usd") { Description = "USD cap per window, e.g. 5.00." };
        var capTokens = new Option<long?>("--cap-tokens") { Description = "Token cap per window." };
        var window = new Option<string?>("--window") { Description = "hourly, daily, weekly, monthly, lifetime, rolling_1h, rolling_24h or rolling_7d (default daily)." };
        var enforcement = new Option<string?>("--enforcement") { Description = "hard (refuse) or soft (alert only)." };
        var mode = new Option<string?>("--mode") { Description = "reserve or post_hoc." };
        var throttleRpm = new Option<int?>("--throttle-rpm") { Description = "For a soft budget: requests per minute allowed while it is past its cap (degrade.throttle_rpm)." };
        var set = new Command("set", "Create or replace a budget through the API (budgets in the configuration file are changed there).") { id, scope, under, model, capUsd, capTokens, window, enforcement, mode, throttleRpm };
        set.SetAction((parse, ct) => WithClientAsync(parse, async client =>
        {
            var body = new JsonObject { ["scope"] = parse.GetValue(scope) };
            Put(body, "cap_usd", parse.GetValue(capUsd));
            if (parse.GetValue(capTokens) is { } tokens)
            {
                body["cap_tokens"] = tokens;
            }

            Put(body, "under", parse.GetValue(under));
            Put(body, "model", parse.GetValue(model));
            Put(body, "window", parse.GetValue(window));
            Put(body, "enforcement", parse.GetValue(enforcement));
            Put(body, "mode", parse.GetValue(mode));
            if (parse.GetValue(throttleRpm) is { } rpm)
            {
                body["degrade"] = new JsonObject { ["throttle_rpm"] = rpm };
            }

            var (saved, error) = await client.SendAsync(HttpMethod.Put, "admin/budgets/" + Uri.EscapeDataString(parse.GetValue(id)!), body, ct).ConfigureAwait(false);
            if (error is not null)
            {
                return await FailAsync(error).ConfigureAwait(false);
            }

            var current = saved!["current"] as JsonObject ?? [];
            Console.WriteLine($"Budget '{Text(saved, "id")}' on {Text(saved, "scope")}: {Text(saved, "window")} cap ${Text(saved, "cap_usd")}, spent ${Text(current, "spent")}, remaining ${Text(current, "remaining")}.");
            return 0;
        }));
        budgets.Subcommands.Add(set);

        var usersOf = new Argument<string>("id") { Description = "A user:* budget's id." };
        var users = new Command("users", "The end users a user:* budget counts in its current window, top spenders first.") { usersOf };
        users.SetAction((parse, ct) => WithClientAsync(parse, async client =>
        {
            var (body, error) = await client.GetAsync("admin/budgets/" + Uri.EscapeDataString(parse.GetValue(usersOf)!) + "/users", ct).ConfigureAwait(false);
            if (error is not null)
            {
                return await FailAsync(error).ConfigureAwait(false);
            }

            var table = new TextTable("END_USER", "SPENT", "HELD", "REMAINING", "SPENT_TOKENS").AlignRight("SPENT", "HELD", "REMAINING", "SPENT_TOKENS");
            foreach (var u in Data(body))
            {
                table.Add(Text(u, "end_user"), Text(u, "spent"), Text(u, "held"), Text(u, "remaining"), Text(u, "spent_tokens"));
            }

            Console.Write(table.ToString());
            return 0;
        }));
        budgets.Subcommands.Add(users);
        return budgets;
    }

    private static Command Bedtime()
    {
        var bedtime = new Command("bedtime", "Bedtime Mode: wake a scope whose spend-rate guard tripped.");
        bedtime.Options.Add(Url);
        bedtime.Options.Add(AdminKey);
        var scope = new Argument<string>("scope") { Description = "The tripped scope, e.g. key:ci-bot or team:research." };
        var wake = new Command("wake", "Let a tripped scope spend again.") { scope };
        wake.SetAction((parse, ct) => WithClientAsync(parse, async client =>
        {
            var name = parse.GetValue(scope)!;
            var (body, error) = await client.SendAsync(HttpMethod.Post, "admin/bedtime/" + Uri.EscapeDataString(name) + "/wake", null, ct).ConfigureAwait(false);
            if (error is not null)
            {
                return await FailAsync(error).ConfigureAwait(false);
            }

            var was = body?["was_tripped"]?.GetValue<bool>() == true;
            Console.WriteLine(was ? $"Woke '{name}': it may spend again." : $"'{name}' was not tripped; nothing to wake.");
            return 0;
        }));
        bedtime.Subcommands.Add(wake);
        return bedtime;
    }

    internal static IEnumerable<JsonObject> Data(JsonNode? body) =>
        body?["data"] is JsonArray array ? array.OfType<JsonObject>() : [];

    internal static string? Text(JsonNode node, string field) => node[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<long>(out var l) => l.ToString(CultureInfo.InvariantCulture),
        var other => other.ToJsonString(),
    };

    private static void Put(JsonObject body, string field, string? value)
    {
        if (value is not null)
        {
            body[field] = value;
        }
    }
}
