import { randomBytes, randomUUID } from 'crypto';
import { setTimeout as sleep } from 'timers/promises';
import { IncomingMessage, KafkajsMessageBus, OutgoingMessage } from '@ordo/platform';
import {
  Command,
  COMPENSATING_PHASES,
  HEADERS,
  isForwardPhase,
  JsonObject,
  MalformedMessage,
  parseCommand,
  Phase,
  Reply,
  topicNames,
} from '@ordo/protocol';
import { DataSource } from 'typeorm';
import { BarrierDecisionKind, BarrierTransaction, OrdoBarrier1763700000000, ReplyBody } from '@ordo/participant';
import { testBus } from './kafka';
import { testEnv } from './test-env';

// ---- scripts: what the participant answers ----

/** What a scripted participant does with a command the barrier lets through. */
export type Answer =
  | ReplyBody
  /** No reply: the coordinator's timeout must act. Nothing is stored, as if the process died. */
  | { kind: 'silent' }
  /** Answers `then` after `ms`; the partition waits meanwhile, like behind a slow handler. */
  | { kind: 'delay'; ms: number; then: Answer }
  /** Publishes `then`'s reply twice with one message id, as a retrying producer would. */
  | { kind: 'duplicate'; then: Answer }
  /** Publishes `reply` labelled with an earlier `attempt` before `then`'s reply. */
  | { kind: 'stale'; attempt: number; reply: ReplyBody; then: Answer }
  /**
   * Publishes `then`'s reply without keeping it at the barrier, as a participant outside the
   * SDK may: for replies the barrier's table would refuse (text jsonb cannot hold).
   */
  | { kind: 'unkept'; then: Answer };

export interface CommandContext {
  participant: string;
  /** Deliveries of this (txId, stepId, phase) so far, this one included. */
  deliveries: number;
}

export type Behaviour = (command: Command, ctx: CommandContext) => Answer | Promise<Answer>;

/** One line of a script: an answer for the commands it is about, undefined for the others. */
export type Rule = (command: Command, ctx: CommandContext) => Answer | undefined;

export interface Match {
  stepId?: string;
  /** A phase, or every forward (execute / try / prepare) or compensating (compensate / cancel / abort) one. */
  phase?: Phase | 'forward' | 'compensating';
  /** Inclusive bounds on the command's attempt number. */
  fromAttempt?: number;
  toAttempt?: number;
}

export const success = (output?: JsonObject): ReplyBody => (output ? { outcome: 'success', output } : { outcome: 'success' });
export const failure = (code: string, message = `scripted ${code}`): ReplyBody => ({ outcome: 'failure', error: { code, message } });
export const RETRY: ReplyBody = { outcome: 'retry', error: { code: 'TRANSIENT', message: 'scripted transient failure' } };
export const SILENT: Answer = { kind: 'silent' };

function matches(command: Command, { stepId, phase, fromAttempt = 1, toAttempt = Infinity }: Match): boolean {
  const phaseMatches =
    phase === undefined ||
    phase === command.phase ||
    (phase === 'forward' && isForwardPhase(command.phase)) ||
    (phase === 'compensating' && COMPENSATING_PHASES.includes(command.phase));
  return (stepId === undefined || stepId === command.stepId) && phaseMatches && command.attempt >= fromAttempt && command.attempt <= toAttempt;
}

export function when(match: Match, answer: Answer | ((command: Command, ctx: CommandContext) => Answer)): Rule {
  return (command, ctx) => {
    if (!matches(command, match)) return undefined;
    return typeof answer === 'function' ? answer(command, ctx) : answer;
  };
}

/** The first rule that answers wins; commands no rule is about succeed. */
export function script(...rules: Rule[]): Behaviour {
  return (command, ctx) => {
    for (const rule of rules) {
      const answer = rule(command, ctx);
      if (answer) return answer;
    }
    return success();
  };
}

export const alwaysSucceed: Behaviour = script();

/** The step's execute / try / prepare refuses with `code` (a business failure). */
export const failForward = (stepId: string, code: string): Rule => when({ stepId, phase: 'forward' }, failure(code));

/** `retry` for the first `attempts` attempts of (stepId, phase). */
export const retryFirst = (stepId: string, phase: Phase, attempts: number): Rule => when({ stepId, phase, toAttempt: attempts }, RETRY);

/** No reply to attempt 1 of (stepId, phase). */
export const silentFirst = (stepId: string, phase: Phase): Rule => when({ stepId, phase, toAttempt: 1 }, SILENT);

/** The step's compensate / cancel / abort answers `failure` for its first `attempts` attempts. */
export const failCompensationFirst = (stepId: string, attempts: number): Rule =>
  when({ stepId, phase: 'compensating', toAttempt: attempts }, failure('COMPENSATION_FAILED'));

/** Every reply to (stepId, phase) is published twice. */
export const replyTwice = (stepId: string, phase: Phase): Rule => when({ stepId, phase }, { kind: 'duplicate', then: success() });

/** From attempt 2 of (stepId, phase) on, a `failure` labelled with the previous attempt precedes the real reply. */
export const staleReplyFirst = (stepId: string, phase: Phase): Rule =>
  when({ stepId, phase, fromAttempt: 2 }, (command) => ({
    kind: 'stale',
    attempt: command.attempt - 1,
    reply: failure('STALE'),
    then: success(),
  }));

// ---- the barrier ----

/** Thrown inside the local transaction so that a command whose answer is not kept stores nothing. */
class NotKept extends Error {
  constructor(readonly reply: ReplyBody | null) {
    super('not kept');
  }
}

/** What the business code answers, and whether the barrier keeps it (a null reply never is). */
export interface Handled {
  reply: ReplyBody | null;
  keep: boolean;
}

/**
 * The participant's barrier: the SDK's SQL barrier (insert first) on a schema of its own in
 * the run's PostgreSQL, one local transaction per command. Share one between instances to
 * model a restart on the same database.
 */
export class TestBarrier {
  readonly schema = `test_barrier_${randomBytes(4).toString('hex')}`;
  private db?: Promise<DataSource>;
  private users = 0;

  /**
   * Handles `command` behind the barrier: `handler` (the business code) runs only when the
   * barrier lets the command through; a handler that throws, does not answer or answers
   * unkept stores nothing, as a process that died before its commit. Deliveries of one step
   * wait on each other at the barrier's key, as the SDK's do.
   */
  async pass(command: Command, handler: () => Promise<Handled>): Promise<{ decision: BarrierDecisionKind; reply: ReplyBody | null }> {
    const db = await this.db!;
    try {
      return await db.transaction(async (manager) => {
        const barrier = new BarrierTransaction(manager);
        const passed = await barrier.pass(command, async () => {
          const { reply, keep } = await handler();
          if (!reply || !keep) throw new NotKept(reply);
          return reply;
        });
        await barrier.storeReplies();
        return passed;
      });
    } catch (error) {
      if (error instanceof NotKept) return { decision: 'run', reply: error.reply };
      throw error;
    }
  }

  /** Connects (and creates the table) for one more participant instance. */
  async open(): Promise<void> {
    this.users++;
    this.db ??= (async () => {
      const db = new DataSource({ type: 'postgres', url: testEnv().databaseUrl, extra: { options: `-c search_path=${this.schema}`, max: 4 } });
      await db.initialize();
      await db.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      const [{ exists }] = await db.query<{ exists: boolean }[]>(`SELECT to_regclass('${this.schema}.ordo_barrier') IS NOT NULL AS exists`);
      if (!exists) {
        const runner = db.createQueryRunner();
        await new OrdoBarrier1763700000000().up(runner);
        await runner.release();
      }
      return db;
    })();
    await this.db;
  }

  /** Disconnects once the last instance using it stopped; the rows stay for the next. */
  async close(): Promise<void> {
    if (--this.users > 0 || !this.db) return;
    const db = this.db;
    this.db = undefined;
    await (await db).destroy();
  }
}

// ---- the participant ----

export interface LogEntry {
  participant: string;
  txId: string;
  stepId: string;
  phase: Phase;
  attempt: number;
  /** The command's token, which its reply echoes. */
  token?: string;
  /** When the command arrived, ms since the epoch. */
  at: number;
  barrier: BarrierDecisionKind;
  /** The business effect was applied: the barrier let the command through and the answer was success. */
  effect: boolean;
  /** The reply for the command's own attempt; null when silent. */
  reply: ReplyBody | null;
}

export interface TestParticipantOptions {
  /** Consumes `<prefix><name>.commands`. */
  name: string;
  behaviour?: Behaviour;
  /** Share with another instance of the same participant to model a restart. */
  barrier?: TestBarrier;
  /** Share one array between participants for a single ordered log across them. */
  log?: LogEntry[];
  /** The topic prefix of a coordinator started with one of its own (default: the run's). */
  topicPrefix?: string;
  /**
   * Handle each command as soon as it arrives, like a service with a worker pool, so that a
   * delay holds back only its own command. By default commands are handled one at a time.
   */
  parallel?: boolean;
}

interface ReplyShape {
  copies: number;
  stale: { attempt: number; reply: ReplyBody }[];
  keep: boolean;
}

const SINGLE_REPLY: ReplyShape = { copies: 1, stale: [], keep: true };

/**
 * A scriptable participant for end-to-end tests. It consumes its command topic through the
 * MessageBus port with a consumer group of its own (so a new instance reads the topic from
 * the beginning, and the barrier turns what was already handled into duplicates), answers
 * on the reply topic, and logs every command it handled. One instance runs once:
 * `start()`, then `stop()`.
 */
export class TestParticipant {
  readonly name: string;
  readonly commandTopic: string;
  readonly barrier: TestBarrier;
  /** Every command handled, in order, logged before its reply is published. */
  readonly log: LogEntry[];
  private readonly behaviour: Behaviour;
  private readonly topics: ReturnType<typeof topicNames>;
  private readonly parallel: boolean;
  private readonly bus: KafkajsMessageBus;
  private readonly stopping = new AbortController();

  constructor(options: TestParticipantOptions) {
    this.name = options.name;
    this.topics = topicNames(options.topicPrefix ?? testEnv().topicPrefix);
    this.parallel = options.parallel ?? false;
    this.commandTopic = this.topics.commands(options.name);
    this.behaviour = options.behaviour ?? alwaysSucceed;
    this.barrier = options.barrier ?? new TestBarrier();
    this.log = options.log ?? [];
    this.bus = testBus(`test-participant-${options.name}`);
  }

  async start(): Promise<void> {
    const { replies, deadLetter } = this.topics;
    await this.barrier.open();
    await this.bus.ensureTopics({ commands: [this.commandTopic], deadLetters: [deadLetter(this.commandTopic)], replies: [replies] });
    await this.bus.subscribe({
      groupId: `${this.commandTopic}.test-${randomBytes(4).toString('hex')}`,
      topics: [this.commandTopic],
      handleBatch: async (messages) => {
        if (!this.parallel) {
          for (const message of messages) await this.handle(message);
          return;
        }
        // Not awaited: the next batch comes in meanwhile. A command whose handling fails is
        // lost like one of a crashed worker; the coordinator's timeout resends it.
        for (const message of messages) {
          this.handle(message).catch((error: Error) => {
            if (!this.stopping.signal.aborted) process.stderr.write(`[${this.name}] handling failed: ${error.message}\n`);
          });
        }
      },
    });
  }

  /** Stops like a killed process: a command still being handled stores nothing and gets no reply. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.bus.close();
    await this.barrier.close();
  }

  /** This participant's log entries for one transaction, in order. */
  received(txId: string): LogEntry[] {
    return this.log.filter((entry) => entry.participant === this.name && entry.txId === txId);
  }

  /** The entries of `received(txId)` that applied a business effect. */
  effects(txId: string): LogEntry[] {
    return this.received(txId).filter((entry) => entry.effect);
  }

  count(txId: string, stepId: string, phase: Phase): { deliveries: number; effects: number } {
    const entries = this.received(txId).filter((entry) => entry.stepId === stepId && entry.phase === phase);
    return { deliveries: entries.length, effects: entries.filter((entry) => entry.effect).length };
  }

  private async handle(message: IncomingMessage): Promise<void> {
    // A killed process handles nothing more, not even the rest of its batch.
    this.stopping.signal.throwIfAborted();
    let command: Command;
    try {
      command = parseCommand(message.value);
    } catch (error) {
      if (!(error instanceof MalformedMessage)) throw error;
      return this.deadLetter(message, error.message);
    }
    const { txId, stepId, phase, attempt, token } = command;
    const at = Date.now();
    const ctx: CommandContext = { participant: this.name, deliveries: this.count(txId, stepId, phase).deliveries + 1 };
    // Only a reply of the business code takes the script's shape; a replayed one goes out once.
    let shape = SINGLE_REPLY;
    const { decision, reply } = await this.barrier.pass(command, async () => {
      const planned = await this.plan(await this.behaviour(command, ctx));
      // A killed process commits nothing, whatever its handler was doing.
      this.stopping.signal.throwIfAborted();
      shape = planned;
      return { reply: planned.reply, keep: planned.keep };
    });
    const effect = decision === 'run' && reply?.outcome === 'success';
    this.log.push({ participant: this.name, txId, stepId, phase, attempt, token, at, barrier: decision, effect, reply });
    if (!reply) return;
    const id = randomUUID();
    await this.bus.publish([
      ...shape.stale.map((early) => this.reply(command, message, early.attempt, early.reply, randomUUID())),
      ...Array.from({ length: shape.copies }, () => this.reply(command, message, attempt, reply, id)),
    ]);
  }

  /** Works through delays and reply shapes down to the reply to store and send. */
  private async plan(answer: Answer, shape = SINGLE_REPLY): Promise<ReplyShape & { reply: ReplyBody | null }> {
    if (!('kind' in answer)) return { ...shape, reply: answer };
    switch (answer.kind) {
      case 'silent':
        return { ...shape, reply: null };
      case 'delay':
        await sleep(answer.ms, undefined, { signal: this.stopping.signal });
        return this.plan(answer.then, shape);
      case 'duplicate':
        return this.plan(answer.then, { ...shape, copies: shape.copies + 1 });
      case 'stale':
        return this.plan(answer.then, { ...shape, stale: [...shape.stale, { attempt: answer.attempt, reply: answer.reply }] });
      case 'unkept':
        return this.plan(answer.then, { ...shape, keep: false });
    }
  }

  /** A reply to `attempt` of the command's step, with that attempt's token (a stale reply: the token this participant got then). */
  private reply(command: Command, cause: IncomingMessage, attempt: number, body: ReplyBody, messageId: string): OutgoingMessage {
    const { txId, stepId, phase } = command;
    const token =
      attempt === command.attempt
        ? command.token
        : this.received(txId).find((e) => e.stepId === stepId && e.phase === phase && e.attempt === attempt)?.token;
    const traceparent = cause.headers[HEADERS.traceparent];
    return {
      topic: this.topics.replies,
      key: txId,
      value: JSON.stringify({ txId, stepId, phase, attempt, ...body, ...(token !== undefined && { token }) } satisfies Reply),
      headers: { [HEADERS.messageId]: messageId, ...(traceparent ? { [HEADERS.traceparent]: traceparent } : {}) },
    };
  }

  private deadLetter(message: IncomingMessage, reason: string): Promise<void> {
    return this.bus.publish([
      {
        topic: this.topics.deadLetter(this.commandTopic),
        key: message.key ?? 'malformed',
        value: message.value?.toString() ?? '',
        headers: { ...message.headers, [HEADERS.deadLetterReason]: reason },
      },
    ]);
  }
}
