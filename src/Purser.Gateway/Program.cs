using Purser.Gateway.Hosting;

return await Cli.RunAsync(args).ConfigureAwait(false);
