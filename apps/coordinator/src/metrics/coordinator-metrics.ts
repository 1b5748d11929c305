import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { BoundedLabel } from '@ordo/platform';
import { Circuit, CIRCUITS } from '../engine';
import { CommittedDecisionMetrics, observeCommitted, ObservedDecision } from './committed-decisions';

/** Why a reply was dead-lettered (docs/operations.md#metrics). */
export type DeadLetterReason = 'malformed' | 'bad_token' | 'unknown_transaction' | 'unapplicable';

/** What the live gauges read at scrape time; the transactions module, which holds them, hands them over. */
export interface GaugeSources {
  replyLag(): number;
  waiters(): number;
  circuits(): Promise<readonly { participant: string; circuit: Circuit }[]>;
  /** Each adaptive timeout policy in use per participant (`policy` names it), and its timeout in force. */
  adaptiveTimeouts(): readonly { participant: string; policy: string; timeoutMs: number }[];
}

/** Most distinct definitions / participants a label keeps; past it, `_other`. */
const LABEL_LIMIT = 500;
/** A scrape must not wait on a busy database: the outbox reading gives up after this. */
const OUTBOX_QUERY_TIMEOUT_MS = 1000;

/**
 * The coordinator's Prometheus metrics. Transaction and step metrics count what committed
 * (the engine reports each database transaction's decisions once it has committed); the
 * gauges are read at scrape time.
 */
@Injectable()
export class CoordinatorMetrics {
  private readonly definitions = new BoundedLabel(LABEL_LIMIT);
  private readonly participants = new BoundedLabel(LABEL_LIMIT);
  private readonly decisions: CommittedDecisionMetrics;
  private readonly deadLetters: Counter<'reason'>;
  private outboxReading?: Promise<{ backlog: number; oldestAgeSeconds: number }>;
  private sources?: GaugeSources;

  constructor(
    registry: Registry,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    const registers = [registry];
    this.decisions = {
      definition: (name) => this.definitions.of(name),
      participant: (name) => this.participants.of(name),
      started: new Counter({
        name: 'ordo_transactions_started_total',
        help: 'Transactions started, by definition and type',
        labelNames: ['definition', 'type'],
        registers,
      }),
      ended: new Counter({
        name: 'ordo_transactions_ended_total',
        help: 'Transactions that reached completed, compensated or failed, by definition, type and status',
        labelNames: ['definition', 'type', 'status'],
        registers,
      }),
      stepDuration: new Histogram({
        name: 'ordo_step_duration_seconds',
        help: 'From sending a command to applying its reply, by participant, phase and outcome',
        labelNames: ['participant', 'phase', 'outcome'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
      timeouts: new Counter({
        name: 'ordo_step_timeouts_total',
        help: 'Attempts that got no reply within the step timeout, by participant and phase',
        labelNames: ['participant', 'phase'],
        registers,
      }),
      retries: new Counter({
        name: 'ordo_step_retries_total',
        help: 'Retries scheduled, by participant and phase',
        labelNames: ['participant', 'phase'],
        registers,
      }),
      holds: new Counter({
        name: 'ordo_step_holds_total',
        help: 'Commands held back to protect a participant, by participant and reason',
        labelNames: ['participant', 'reason'],
        registers,
      }),
      undeliverable: new Counter({
        name: 'ordo_commands_too_large_total',
        help: 'Commands not sent because they were larger than MAX_MESSAGE_BYTES (their step failed), by participant and phase',
        labelNames: ['participant', 'phase'],
        registers,
      }),
    };
    this.deadLetters = new Counter({
      name: 'ordo_dead_letters_total',
      help: 'Replies sent to the dead-letter topic, by reason',
      labelNames: ['reason'],
      registers,
    });
    const readOutbox = () => this.readOutbox();
    const sources = () => this.sources;
    new Gauge({
      name: 'ordo_outbox_backlog',
      help: 'Commands written and not yet published to Kafka',
      registers,
      async collect() {
        this.set((await readOutbox()).backlog);
      },
    });
    new Gauge({
      name: 'ordo_outbox_oldest_age_seconds',
      help: 'Age of the oldest unpublished command (0 when the outbox is empty)',
      registers,
      async collect() {
        this.set((await readOutbox()).oldestAgeSeconds);
      },
    });
    new Gauge({
      name: 'ordo_reply_consumer_lag',
      help: 'Replies written to the reply topic and not yet consumed by the coordinators (last reading)',
      registers,
      collect() {
        const live = sources();
        if (live) this.set(live.replyLag());
      },
    });
    new Gauge({
      name: 'ordo_waiters',
      help: "Callers waiting for a transaction's end (waitMs) on this instance",
      registers,
      collect() {
        const live = sources();
        if (live) this.set(live.waiters());
      },
    });
    const participantLabel = (name: string) => this.participants.of(name);
    new Gauge({
      name: 'ordo_circuit_state',
      help: "1 for each participant's current circuit state on this instance (closed, open, half_open), 0 for the others",
      labelNames: ['participant', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const { participant, circuit } of (await sources()?.circuits()) ?? []) {
          for (const state of CIRCUITS) this.set({ participant: participantLabel(participant), state }, state === circuit ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'ordo_adaptive_timeout_seconds',
      help: 'The step timeout in force on this instance for each participant and adaptive policy (p<percentile>x<factor>:<min>-<max>ms)',
      labelNames: ['participant', 'policy'],
      registers,
      collect() {
        this.reset();
        for (const { participant, policy, timeoutMs } of sources()?.adaptiveTimeouts() ?? []) {
          this.set({ participant: participantLabel(participant), policy }, timeoutMs / 1000);
        }
      },
    });
  }

  readGaugesFrom(sources: GaugeSources): void {
    this.sources = sources;
  }

  /** The decisions of one database transaction that committed. */
  committed(decisions: readonly ObservedDecision[]): void {
    observeCommitted(this.decisions, decisions);
  }

  deadLettered(reason: DeadLetterReason, count = 1): void {
    this.deadLetters.inc({ reason }, count);
  }

  /** One query for both outbox gauges of a scrape. */
  private readOutbox() {
    this.outboxReading ??= this.dataSource
      .transaction(async (manager) => {
        await manager.query(`SET LOCAL statement_timeout = ${OUTBOX_QUERY_TIMEOUT_MS}`);
        const [row]: { backlog: number; age: number | null }[] = await manager.query(
          'SELECT count(*)::int AS backlog, extract(epoch FROM now() - min(created_at))::float8 AS age FROM outbox',
        );
        return { backlog: row.backlog, oldestAgeSeconds: Math.max(0, row.age ?? 0) };
      })
      .finally(() => (this.outboxReading = undefined));
    return this.outboxReading;
  }
}
