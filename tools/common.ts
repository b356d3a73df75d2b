// What the command-line tools share: the command context, the error types, and exit codes.
import { Command, CommanderError } from 'commander';
import { holdSecretShapes, redact } from './redact';
import { readFleet } from '../lib/synth';
import { ClusterConfig, Fleet } from '../lib/fleet/model';
import { PathsOptions, RepositoryPaths, resolvePaths } from '../lib/layout';

export { PathsOptions, pathsFromEnvironment } from '../lib/layout';

/** A problem the user can fix, reported as one line with exit code 1. */
export class CommandError extends Error {}

/** A bad argument or option, reported as one line with exit code 2 (bad usage). */
export class UsageError extends CommandError {}

/** Several failures of one run (each source tried), one line each: each is printed as its own error line. */
export class CommandErrors extends CommandError {
  public constructor(public readonly lines: readonly string[]) {
    super(lines.join('\n'));
  }
}

/** Ends a command that has printed its own report with a non-zero exit code (e.g. a failed check). */
export class ExitCode extends Error {
  public constructor(public readonly code: number) {
    super(`exit code ${code}`);
  }
}

export interface CommandOptions extends PathsOptions {
  /** Where tokens and keys given as variables are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The context a command line made once for all its commands; made from the options otherwise. */
  readonly context?: CommandContext;
}

/**
 * What every command works with, made once and handed to each (as the GitHub CLI hands its
 * commands a Factory): the paths, the environment, and the fleet file, parsed on first use only.
 * Commands take it instead of reading paths, variables or the fleet file themselves.
 */
export class CommandContext {
  /** The context in `options`, or one made from its paths and environment. */
  public static of(options: CommandOptions = {}): CommandContext {
    return options.context ?? new CommandContext(options);
  }

  public readonly paths: RepositoryPaths;
  public readonly env: NodeJS.ProcessEnv;
  private loaded?: Fleet;

  public constructor(options: PathsOptions & { env?: NodeJS.ProcessEnv } = {}) {
    this.paths = resolvePaths(options);
    this.env = options.env ?? process.env;
  }

  /** The fleet file, parsed once; a CommandError when it cannot be read, a FleetError when it is wrong. */
  public fleet(): Fleet {
    if (this.loaded === undefined) {
      this.loaded = readFleet(this.paths.fleetFile);
      // A token or key pasted into a field the parser accepts (events, a path) is never echoed.
      holdSecretShapes(JSON.stringify(this.loaded));
    }
    return this.loaded;
  }

  /** The named cluster of the fleet file; a CommandError if it has none of that name. */
  public cluster(name: string): ClusterConfig {
    const cluster = this.fleet().clusters.find((candidate) => candidate.name === name);
    if (!cluster) throw new CommandError(`cluster "${name}" is not in ${this.paths.fleetFile} (it has: ${this.fleet().clusters.map((candidate) => candidate.name).join(', ')})`);
    return cluster;
  }
}

/** Where commander writes help and usage errors: stdout and stderr unless told. */
export interface ProgramOutput {
  readonly writeOut: (text: string) => void;
  readonly writeErr: (text: string) => void;
}

/** Runs a commander program; returns the exit code: 0 ok, 1 failed, 2 bad usage. */
export async function runProgram(program: Command, argv: string[], output?: ProgramOutput): Promise<number> {
  // Set on every command: subcommands made before this call do not inherit it.
  // An argument may be a secret pasted in the wrong place: commander's own errors quote it.
  for (const argument of argv) holdSecretShapes(argument);
  const out = output ?? { writeOut: (text: string) => process.stdout.write(text), writeErr: (text: string) => process.stderr.write(text) };
  const masked = { writeOut: (text: string) => out.writeOut(redact(text)), writeErr: (text: string) => out.writeErr(redact(text)) };
  const configure = (command: Command): void => {
    command.exitOverride().showHelpAfterError();
    command.configureOutput(masked);
    command.commands.forEach(configure);
  };
  configure(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof ExitCode) return error.code;
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    // Every message is masked: it may quote a server's answer or a library's error about a header.
    for (const line of error instanceof CommandErrors ? error.lines : [(error as Error).message]) console.error(`error: ${redact(line)}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

/** Runs the program with the process's arguments when `entry` is the script node was started with. */
export function runWhenMain(entry: NodeModule, build: () => Command): void {
  if (require.main === entry) {
    runProgram(build(), process.argv.slice(2)).then((code) => {
      process.exitCode = code;
    });
  }
}
