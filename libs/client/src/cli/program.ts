import { readFileSync } from 'fs';
import { Command, CommanderError, Option } from 'commander';
import { OrdoApiError } from '../errors';
import { BulkFilter, BulkRequest, Definition, ListTransactionsQuery, OrdoClient, Transaction } from '../ordo-client';
import { parseDuration } from './duration';
import { EXIT, exitCodeFor } from './exit-codes';
import { views } from './views';

/** Where the CLI reads and writes; the process's by default, a test's in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** A file's text; `-` is standard input. */
  read(path: string): string;
  fetch: typeof fetch;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  read: (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
  fetch: (...args) => fetch(...args),
};

/** A mistake in how the command was called (exit code 2). */
class UsageError extends Error {}

/** Runs `ordo <args>` and resolves to its exit code (see EXIT). */
export async function run(args: string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('ordo')
    .description('Ordo from the command line: register definitions, start, inspect and repair transactions.')
    .option('--url <url>', 'the coordinator (env ORDO_URL; default http://localhost:3000)')
    .option('--api-key <secret>', 'an API key: viewer to read, operator to start and repair, admin to register (env ORDO_API_KEY)')
    .option('--json', "print the API's JSON instead of tables")
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) })
    .showHelpAfterError('(ordo --help lists the commands)');
  const client = () => {
    const { url, apiKey } = program.opts<{ url?: string; apiKey?: string }>();
    return new OrdoClient({ url: url ?? io.env.ORDO_URL ?? 'http://localhost:3000', apiKey: apiKey ?? io.env.ORDO_API_KEY, fetch: io.fetch });
  };
  const print = <T>(value: T, view: (value: T) => string) => io.out(program.opts().json ? `${JSON.stringify(value, null, 2)}\n` : view(value));
  /** Prints a transaction; after a wait, the exit code tells how it ended. */
  const printWaited = (tx: Transaction, waited: boolean) => {
    print(tx, views.transaction);
    if (waited) code = exitCodeFor(tx.status);
  };

  const definitions = program.command('definitions').alias('defs').description('workflow definitions (versioned)');
  definitions
    .command('apply')
    .description('register a definition file as its next version (unchanged when equal to the latest)')
    .requiredOption('-f, --file <path>', 'the definition as JSON (- for standard input)')
    .action(async ({ file }: { file: string }) => {
      const { definition, created } = await client().applyDefinition(readJson(io, file) as Definition);
      if (program.opts().json) print(definition, views.definition);
      else io.out(`${definition.name} v${definition.version} ${created ? 'registered' : 'unchanged (equal to the latest version)'}\n`);
    });
  definitions
    .command('list')
    .description('definitions with their latest version')
    .option('--limit <n>', 'most items', integer)
    .option('--cursor <cursor>', 'the next page after a previous list')
    .action(async (options: { limit?: number; cursor?: string }) => print(await client().listDefinitions(options), views.definitions));
  definitions
    .command('show <name>')
    .description("a definition's latest version, or --version")
    .option('--version <n>', 'a version', integer)
    .action(async (name: string, options: { version?: number }) => {
      const [stored, versions] = await Promise.all([client().getDefinition(name, options.version), client().definitionVersions(name)]);
      print({ ...stored, versions: versions.items }, views.definitionWithVersions);
    });
  definitions
    .command('diff <name> <from> <to>')
    .description('what changed between two versions: steps added, removed or changed, field by field')
    .action(async (name: string, from: string, to: string) =>
      print(await client().diffDefinition(name, integer(from), integer(to)), views.definitionDiff),
    );

  const tx = program.command('tx').alias('transactions').description('transactions');
  tx.command('start <definition>')
    .description('start a transaction; with --wait, exit 0 completed, 3 compensated, 4 failed, 5 still running')
    .option('-i, --input <json>', 'the input: JSON, or @file.json, or @- for standard input', '{}')
    .option('--version <n>', 'the definition version (the latest by default)', integer)
    .option('-k, --idempotency-key <key>', 'starting again with this key returns the first transaction')
    .option('-t, --tag <key=value>', 'a business key to find it by (repeatable)', collectTag)
    .option('-w, --wait <duration>', 'wait for the end, e.g. 10s or 2m', parseWait)
    .action(async (definition: string, options: { input: string; version?: number; idempotencyKey?: string; tag?: Tag[]; wait?: number }) => {
      const request = {
        definition,
        version: options.version,
        input: parseInput(io, options.input),
        idempotencyKey: options.idempotencyKey,
        tags: options.tag && Object.fromEntries(options.tag),
      };
      const { transaction } = await client().startTransaction(request, { waitMs: options.wait });
      printWaited(transaction, options.wait !== undefined);
    });
  tx.command('list')
    .description('transactions, newest first')
    .option('--status <status>', 'running, compensating, completed, compensated or failed')
    .option('--definition <name>', 'of this definition')
    .option('--type <type>', 'saga, tcc or 2pc')
    .option('-t, --tag <key=value>', 'carrying this business key (repeatable: all must match)', collectTag)
    .option('--paused', 'paused ones only')
    .option('--limit <n>', 'most items', integer)
    .option('--cursor <cursor>', 'the next page after a previous list')
    .action(async ({ tag, ...filter }: Omit<ListTransactionsQuery, 'tag'> & { tag?: Tag[] }) => {
      const query = { ...filter, tag: tag?.map(([key, value]) => `${key}:${value}`) };
      print(await client().listTransactions(query), views.transactions);
    });
  tx.command('show <id>')
    .description('a transaction and its steps; with --wait, wait for its end (exit codes as for start)')
    .option('-w, --wait <duration>', 'wait for the end, e.g. 10s', parseWait)
    .action(async (id: string, options: { wait?: number }) => {
      const transaction = await client().getTransaction(id, { waitMs: options.wait });
      printWaited(transaction, options.wait !== undefined);
    });
  tx.command('events <id>')
    .description("a transaction's history, oldest first")
    .option('--limit <n>', 'most items', integer)
    .option('--cursor <cursor>', 'the next page after a previous list')
    .action(async (id: string, options: { limit?: number; cursor?: string }) => print(await client().events(id, options), views.events));
  tx.command('timeline <id>')
    .description("a transaction's waterfall: each attempt, backoff and hold per step phase")
    .action(async (id: string) => print(await client().timeline(id), views.timeline));
  tx.command('retry <id>')
    .description("replay a failed transaction's compensations")
    .action(async (id: string) => print(await client().retry(id), views.transaction));
  tx.command('abort <id>')
    .description('roll a running transaction back')
    .option('--reason <text>', 'why, for the history')
    .action(async (id: string, options: { reason?: string }) => print(await client().abort(id, options.reason), views.transaction));
  tx.command('resolve <id> <step>')
    .description('record what you made true by hand for a step that cannot finish on its own')
    .addOption(new Option('--outcome <outcome>', 'what is now true').choices(['compensated', 'succeeded']).makeOptionMandatory())
    .requiredOption('--note <text>', 'what was done, for the history (e.g. a ticket)')
    .action(async (id: string, step: string, options: { outcome: 'compensated' | 'succeeded'; note: string }) =>
      print(await client().resolveStep(id, step, options), views.transaction),
    );
  tx.command('pause <id>')
    .description('pause a running transaction: it sends nothing and none of its timers runs until resumed')
    .option('--note <text>', 'why, for the history')
    .action(async (id: string, { note }: Noted) => print(await client().pause(id, note), views.transaction));
  tx.command('resume <id>')
    .description('resume a paused transaction: its timers move on by the time it was paused')
    .option('--note <text>', 'why, for the history')
    .action(async (id: string, { note }: Noted) => print(await client().resume(id, note), views.transaction));
  bulk(tx.command('pause-all'), 'pause every running transaction matching the filter (oldest first)').action(async (options: BulkOptions) =>
    print({ paused: await client().pauseMatching(bulkFilter(options)) }, ({ paused }) => `${paused} paused\n`),
  );
  bulk(tx.command('resume-all'), 'resume every paused transaction matching the filter (oldest first)').action(async (options: BulkOptions) =>
    print({ resumed: await client().resumeMatching(bulkFilter(options)) }, ({ resumed }) => `${resumed} resumed\n`),
  );
  tx.command('retry-now <id> <step>')
    .description("send a step's scheduled retry now, skipping the rest of its backoff")
    .option('--note <text>', 'why, for the history')
    .action(async (id: string, step: string, { note }: Noted) => print(await client().retryStepNow(id, step, note), views.transaction));
  tx.command('attempts <id> <step>')
    .description('set how many more attempts a step with an attempt out or scheduled may use')
    .requiredOption('--left <n>', 'attempts left (0–100; a scheduled retry counts)', count)
    .option('--note <text>', 'why, for the history')
    .action(async (id: string, step: string, { left, note }: Noted & { left: number }) =>
      print(await client().setStepAttempts(id, step, { attemptsLeft: left, note }), views.transaction),
    );
  tx.command('skip <id> <step>')
    .description('count a saga step as succeeded with an output you give, so that its dependents run')
    .option('-o, --output <json>', "the step's output: JSON, or @file.json, or @- for standard input")
    .requiredOption('--note <text>', 'what was done instead, for the history (e.g. a ticket)')
    .action(async (id: string, step: string, options: { output?: string; note: string }) => {
      const output = options.output === undefined ? undefined : parseInput(io, options.output);
      print(await client().skipStep(id, step, { output, note: options.note }), views.transaction);
    });
  tx.command('input <id> <step>')
    .description("the input a step's next command carries (an operator's edit, or the one its definition maps)")
    .action(async (id: string, step: string) => print(await client().stepInput(id, step), views.stepInput));
  tx.command('edit-retry <id> <step>')
    .description("edit a step's input and retry it: sent now if a retry waits, replayed with a fresh budget if stuck")
    .requiredOption('-i, --input <json>', 'the new input: a JSON object, or @file.json, or @- for standard input')
    .requiredOption('--note <text>', 'why, for the history (which keeps the old and the new input)')
    .action(async (id: string, step: string, options: { input: string; note: string }) =>
      print(await client().editStepInput(id, step, { input: parseInput(io, options.input), note: options.note }), views.transaction),
    );
  tx.command('fail <id> <step>')
    .description('fail a step that has not answered its first phase yet: the rollback starts')
    .requiredOption('--note <text>', 'why, for the history')
    .action(async (id: string, step: string, { note }: { note: string }) => print(await client().failStep(id, step, note), views.transaction));

  const bulkActions = program.command('bulk').description('an operator action on every transaction matching a filter, in batches');
  bulkActions
    .command('run <action>')
    .description('retry, abort, pause, resume, retry_now, set_attempts, skip or fail_step on every match (oldest first)')
    .option('--definition <name>', 'of this definition')
    .option('--type <type>', 'saga, tcc or 2pc')
    .option('--status <status>', 'of this status')
    .option('-t, --tag <key=value>', 'carrying this business key (repeatable: all must match)', collectTag)
    .option('--paused', 'paused ones only')
    .option('--step <id>', 'the step (retry_now, set_attempts, skip, fail_step)')
    .option('--left <n>', 'set_attempts: attempts left', count)
    .option('-o, --output <json>', "skip: the step's output (JSON, @file.json or @-)")
    .option('--note <text>', 'why, for each history (required by skip and fail_step)')
    .option('--limit <n>', 'most transactions (default 1000)', integer)
    .option('--dry-run', 'only count the transactions it would go through')
    .option('-w, --wait', 'follow it to its end')
    .action(async (action: BulkRequest['action'], options: BulkRunOptions) => {
      const { tag, step, left, output, dryRun, wait, ...filter } = options;
      const request: BulkRequest = {
        ...filter,
        action,
        tag: tag?.map(([key, value]) => `${key}:${value}`),
        stepId: step,
        attemptsLeft: left,
        output: output === undefined ? undefined : parseInput(io, output),
      };
      if (dryRun) return print({ matched: await client().countBulk(request) }, ({ matched }) => `${matched} transactions match\n`);
      let run = await client().startBulk(request);
      while (wait && run.status === 'running') {
        await new Promise((resolve) => setTimeout(resolve, BULK_POLL_MS));
        run = await client().bulkAction(run.id);
      }
      print(run, views.bulk);
    });
  bulkActions
    .command('show <id>')
    .description('a bulk action and its progress')
    .action(async (id: string) => print(await client().bulkAction(id), views.bulk));

  program
    .command('stats')
    .description('per definition and step: p50/p95/p99 durations and failure rates of the transactions that ended recently')
    .option('--window <minutes>', 'minutes to cover (1-1440)', integer, 60)
    .option('--definition <name>', 'only this definition')
    .action(async ({ window, definition }: { window: number; definition?: string }) =>
      print(await client().timingStats({ windowMinutes: window, definition }), views.stats),
    );

  const participants = program.command('participants').description('participants: circuits, commands in flight, pauses');
  participants
    .command('list')
    .description('every participant with a circuit, commands in flight or a pause')
    .action(async () => print(await client().participants(), views.participants));
  participants
    .command('pause <participant>')
    .description('hold every command to it (its transactions pause) until it is resumed, e.g. during its maintenance')
    .option('--note <text>', 'why, for the audit log')
    .action(async (participant: string, { note }: Noted) =>
      print(await client().pauseParticipant(participant, note), ({ since }) => `${participant} paused since ${since}\n`),
    );
  participants
    .command('resume <participant>')
    .description('resume it and every transaction that waited for it')
    .option('--note <text>', 'why, for the audit log')
    .action(async (participant: string, { note }: Noted) =>
      print(
        { participant, resumed: await client().resumeParticipant(participant, note) },
        ({ resumed }) => `${participant} resumed, and ${resumed} transactions that waited for it\n`,
      ),
    );

  const inDoubt = program.command('in-doubt').description('two-phase commit: the prepared transactions participants hold');
  inDoubt
    .command('list')
    .description('prepared work with what the coordinator knows of it; overdue first (its decision is known: it holds its locks for nothing)')
    .action(async () => print(await client().inDoubt(), views.inDoubt));
  inDoubt
    .command('finish <participant> <txId> <stepId>')
    .description('ask the participant to finish a prepared transaction now by its decision (a missing transaction: roll back)')
    .option('--note <text>', 'why, for the audit log')
    .action(async (participant: string, txId: string, stepId: string, { note }: Noted) =>
      print(
        await client().finishPrepared(participant, txId, stepId, note),
        (w) => `${participant} asked to ${w.verdict === 'commit' ? 'commit' : 'roll back'} ${txId}/${stepId} on its next report\n`,
      ),
    );

  try {
    await program.parseAsync(args, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof UsageError) {
      io.err(`ordo: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof OrdoApiError) {
      const details = (error.details ?? []).map((d) => `  ${typeof d === 'string' ? d : JSON.stringify(d)}\n`).join('');
      io.err(`ordo: ${error.code}: ${error.message}\n${details}`);
      return EXIT.apiError;
    }
    throw error;
  }
}

interface Noted {
  note?: string;
}

type BulkRunOptions = Omit<BulkRequest, 'action' | 'tag' | 'stepId' | 'attemptsLeft' | 'output'> & {
  tag?: Tag[];
  step?: string;
  left?: number;
  output?: string;
  dryRun?: boolean;
  wait?: boolean;
};

/** How often `ordo bulk run --wait` asks for the progress. */
const BULK_POLL_MS = 1000;

type BulkOptions = Noted & { definition?: string; type?: 'saga' | 'tcc' | '2pc'; tag?: Tag[]; limit?: number };

/** The options of a bulk action: the list's filters, a limit and a note. */
function bulk(command: Command, description: string): Command {
  return command
    .description(description)
    .option('--definition <name>', 'of this definition')
    .option('--type <type>', 'saga, tcc or 2pc')
    .option('-t, --tag <key=value>', 'carrying this business key (repeatable: all must match)', collectTag)
    .option('--limit <n>', 'most transactions (default 100, at most 1000)', integer)
    .option('--note <text>', 'why, for the history');
}

function bulkFilter({ tag, ...filter }: BulkOptions): BulkFilter {
  return { ...filter, tag: tag?.map(([key, value]) => `${key}:${value}`) };
}

/** A whole number from 0. */
function count(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`"${text}" is not a whole number from 0`);
  return value;
}

function integer(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`"${text}" is not a whole number from 1`);
  return value;
}

/** A business key as given: `key=value`. */
type Tag = [key: string, value: string];

/** `--tag key=value`, repeatable; the value may hold `=`. The coordinator checks the rest. */
function collectTag(text: string, previous: Tag[] = []): Tag[] {
  const equals = text.indexOf('=');
  if (equals < 1) throw new UsageError(`"${text}" is not key=value`);
  return [...previous, [text.slice(0, equals), text.slice(equals + 1)]];
}

function parseWait(text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `{…}` as it is, `@path` from a file, `@-` from standard input. */
function parseInput(io: Io, text: string): Record<string, unknown> {
  const value = text.startsWith('@') ? readJson(io, text.slice(1)) : parseJson(text, '--input');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError('the input must be a JSON object');
  return value as Record<string, unknown>;
}

function readJson(io: Io, path: string): unknown {
  let text: string;
  try {
    text = io.read(path);
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return parseJson(text, path);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where} is not JSON: ${(error as Error).message}`);
  }
}
