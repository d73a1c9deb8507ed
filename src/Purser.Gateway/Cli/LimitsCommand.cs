using System.CommandLine;
using System.Text.Json.Nodes;

namespace Purser.Gateway.Cli;

/// <summary>
/// <c>purser limits list|set|delete</c>: the rate limits of a running gateway through <c>/admin/rate-limits</c>. A set
/// sends the config file's entry as JSON, checked by the gateway's own parser; its refusal names the field.
/// </summary>
internal static class LimitsCommand
{
    public static Command Create(Option<string?> url, Option<string?> adminKey)
    {
        var limits = new Command("limits", "List, set and delete rate limits (requests and tokens per minute, concurrency).");
        limits.Options.Add(url);
        limits.Options.Add(adminKey);

        var list = new Command("list", "Every rate limit: scope, model, limits, requests in flight on this instance, source.");
        list.SetAction((parse, ct) => OperatorCommands.WithClientAsync(parse, async client =>
        {
            var (body, error) = await client.GetAsync("admin/rate-limits", ct).ConfigureAwait(false);
            if (error is not null)
            {
                return await OperatorCommands.FailAsync(error).ConfigureAwait(false);
            }

            var table = new TextTable("ID", "SCOPE", "MODEL", "RPM", "TPM", "MAX_CONCURRENT", "IN_FLIGHT", "SOURCE")
                .AlignRight("RPM", "TPM", "MAX_CONCURRENT", "IN_FLIGHT");
            foreach (var l in OperatorCommands.Data(body))
            {
                table.Add(OperatorCommands.Text(l, "id"), OperatorCommands.Text(l, "scope"), OperatorCommands.Text(l, "model"), OperatorCommands.Text(l, "requests_per_minute"),
                    OperatorCommands.Text(l, "tokens_per_minute"), OperatorCommands.Text(l, "max_concurrent"), OperatorCommands.Text(l, "in_flight"), OperatorCommands.Text(l, "source"));
            }

            Console.Write(table.ToString());
            return 0;
        }));
        limits.Subcommands.Add(list);

        var id = new Argument<string>("id") { Description = "The rate limit's id (created or replaced)." };
        var scope = new Option<string>("--scope") { Description = "What it limits: org:<id>, team:<id>, key:<id>, task:<id> or user:* (each end user on their own).", Required = true };
        var under = new Option<string?>("--under") { Description = "For user:*: the key:<id> or team:<id> whose end users it limits (default: every key)." };
        var model = new Option<string?>("--model") { Description = "Only requests for this model alias." };
        var rpm = new Option<long?>("--rpm") { Description = "Requests per minute." };
        var tpm = new Option<long?>("--tpm") { Description = "Tokens per minute (the worst case taken at admission, settled to actual usage)." };
        var concurrent = new Option<long?>("--max-concurrent") { Description = "Requests in flight at once (a stream until it ends)." };
        var set = new Command("set", "Create or replace a rate limit through the API (limits in the configuration file are changed there).") { id, scope, under, model, rpm, tpm, concurrent };
        set.SetAction((parse, ct) => OperatorCommands.WithClientAsync(parse, async client =>
        {
            var body = new JsonObject { ["scope"] = parse.GetValue(scope) };
            if (parse.GetValue(under) is { } underScope)
            {
                body["under"] = underScope;
            }

            if (parse.GetValue(model) is { } alias)
            {
                body["model"] = alias;
            }

            Number(body, "requests_per_minute", parse.GetValue(rpm));
            Number(body, "tokens_per_minute", parse.GetValue(tpm));
            Number(body, "max_concurrent", parse.GetValue(concurrent));
            var (saved, error) = await client.SendAsync(HttpMethod.Put, "admin/rate-limits/" + Uri.EscapeDataString(parse.GetValue(id)!), body, ct).ConfigureAwait(false);
            if (error is not null)
            {
                return await OperatorCommands.FailAsync(error).ConfigureAwait(false);
            }

            Console.WriteLine($"Rate limit '{OperatorCommands.Text(saved!, "id")}' on {OperatorCommands.Text(saved!, "scope")}: "
                + $"rpm {OperatorCommands.Text(saved!, "requests_per_minute") ?? "-"}, tpm {OperatorCommands.Text(saved!, "tokens_per_minute") ?? "-"}, "
                + $"max concurrent {OperatorCommands.Text(saved!, "max_concurrent") ?? "-"}.");
            return 0;
        }));
        limits.Subcommands.Add(set);

        var deleteId = new Argument<string>("id") { Description = "The rate limit to delete (one created through the API)." };
        var delete = new Command("delete", "Delete a rate limit created through the API.") { deleteId };
        delete.SetAction((parse, ct) => OperatorCommands.WithClientAsync(parse, async client =>
        {
            var name = parse.GetValue(deleteId)!;
            var (_, error) = await client.SendAsync(HttpMethod.Delete, "admin/rate-limits/" + Uri.EscapeDataString(name), null, ct).ConfigureAwait(false);
            if (error is not null)
            {
                return await OperatorCommands.FailAsync(error).ConfigureAwait(false);
            }

            Console.WriteLine($"Deleted rate limit '{name}'.");
            return 0;
        }));
        limits.Subcommands.Add(delete);
        return limits;
    }

    private static void Number(JsonObject body, string field, long? value)
    {
        if (value is { } number)
        {
            body[field] = number;
        }
    }
}
