using Bundler.Cli;

return await Cli.RunAsync(args, CliOutput.FromConsole());
