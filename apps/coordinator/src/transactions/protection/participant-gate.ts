import { Injectable, Logger } from '@nestjs/common';
import {
  Admission,
  admitCall,
  BreakerPolicy,
  BreakerState,
  callHealthOf,
  CallHealth,
  Circuit,
  circuitAt,
  CLOSED_BREAKER,
  Effect,
  failureRatio,
  Gate,
  recordCall,
} from '../../engine';
import { AlertRecorder } from '../../alerts/alert-recorder';
import { CoordinatorConfig } from '../../config/coordinator.config';
import { StepLayout } from '../persistence/transaction-record';
import { TransactionRepository } from '../persistence/transaction.repository';
import { InFlightCounter } from './in-flight-counter';
import { PausedParticipants } from './paused-participants';
import { ReplyFlowMonitor } from './reply-flow-monitor';
import { AdaptiveTimeoutStatus, ReplyTimeTracker } from './reply-time-tracker';

/** A decision whose database transaction committed. */
export interface CommittedDecision {
  readonly layout: readonly StepLayout[];
  readonly effects: readonly Effect[];
}

/** The gate of one database transaction's decisions. */
export interface GateBatch {
  /** A gate for decisions at `now`, once the in-flight counts of these participants are fresh enough. */
  gate(participants: Iterable<string>, now: number): Promise<Gate>;
  /** The transaction ended: these decisions committed, or (null) it rolled back. */
  end(committed: readonly CommittedDecision[] | null): void;
}

export interface ParticipantStatus {
  readonly participant: string;
  readonly circuit: Circuit;
  readonly inFlight: number;
  readonly failureRatio: number;
  /** Set while an operator has it paused. */
  readonly paused: { readonly since: string; readonly by: string; readonly note: string | null } | null;
  /** The adaptive timeouts in force on this instance, one per policy its steps used. */
  readonly adaptiveTimeouts: AdaptiveTimeoutStatus[];
}

/**
 * Protects participants: a circuit breaker per participant, fed by the replies and timeouts
 * this instance applies, and a bound on the commands awaiting a reply per participant,
 * counted across all instances; and the participants an operator paused, whose commands it
 * refuses until they are resumed. The pure machines ask it (as their `Gate`) before every
 * command, and hold back what it refuses.
 */
@Injectable()
export class ParticipantGate {
  private readonly logger = new Logger(ParticipantGate.name);
  private readonly breakers = new Map<string, BreakerState>();
  private readonly inFlight: InFlightCounter;
  private readonly policy: BreakerPolicy;
  /** The count of commands in flight under way, and for whom. */
  private counting?: { participants: Set<string>; done: Promise<void> };

  constructor(
    private readonly repository: TransactionRepository,
    private readonly config: CoordinatorConfig,
    private readonly replyFlow: ReplyFlowMonitor,
    private readonly alerts: AlertRecorder,
    private readonly pauses: PausedParticipants,
    private readonly replyTimes: ReplyTimeTracker,
  ) {
    this.inFlight = new InFlightCounter(config.IN_FLIGHT_REFRESH_MS);
    this.policy = {
      window: config.BREAKER_WINDOW,
      minimumCalls: config.BREAKER_MIN_CALLS,
      failureRatio: config.BREAKER_FAILURE_RATIO,
      openMs: config.BREAKER_OPEN_MS,
      halfOpenProbes: config.BREAKER_HALF_OPEN_PROBES,
    };
  }

  /** Starts gating one database transaction; `end` it whatever happens. */
  begin(): GateBatch {
    // Admitted commands count at once, so that concurrent transactions see them too.
    const reserved = new Map<string, number>();
    return {
      gate: async (participants, now) => {
        // A count is corrected by what this instance did since it was taken (exact with one
        // instance), so only a participant never counted waits for its count. An old count
        // is taken again meanwhile, for the decisions after this one: on the decision's path
        // the query cost an idle saga a round trip every IN_FLIGHT_REFRESH_MS.
        const stale = this.inFlight.stale(participants, now);
        const recount = stale.length > 0 ? this.recount(stale) : undefined;
        const waitFor = this.inFlight.uncounted(participants).length > 0 ? recount : undefined;
        if (recount && !waitFor) void recount.catch((error: Error) => this.logger.warn(`commands in flight not counted: ${error.message}`));
        const [paused] = await Promise.all([this.pauses.names(), waitFor]);
        return {
          admit: (participant) => {
            if (paused.has(participant)) return { admitted: false, reason: 'participant_paused' };
            const admission = this.admit(participant, now);
            if (admission.admitted) {
              this.inFlight.reserve(participant);
              reserved.set(participant, (reserved.get(participant) ?? 0) + 1);
            }
            return admission;
          },
        };
      },
      end: (committed) => {
        reserved.forEach((count, participant) => this.inFlight.release(participant, count));
        // Count what was written, not what was admitted: a decision may have been dropped
        // (a start whose idempotency key was taken). A probe admitted in a transaction that
        // rolled back stays counted in its round, which ends after BREAKER_OPEN_MS anyway.
        if (committed) this.learn(committed, Date.now());
      },
    };
  }

  /**
   * Counts the participants' commands in flight again. Decisions taken at once share one
   * count: without that, every batch that found a count stale would run its own.
   */
  private recount(participants: string[]): Promise<void> {
    const running = this.counting;
    if (running && participants.every((p) => running.participants.has(p))) return running.done;
    const countedAt = Date.now();
    const done = this.repository.countAwaitingReply(participants).then((counts) => this.inFlight.update(participants, counts, countedAt, Date.now()));
    const counting = { participants: new Set(participants), done };
    this.counting = counting;
    void done
      .catch(() => undefined)
      .finally(() => {
        if (this.counting === counting) this.counting = undefined;
      });
    return done;
  }

  /** Every participant with a breaker or an adaptive timeout on this instance, commands in flight or a pause, by name. */
  async participants(): Promise<ParticipantStatus[]> {
    const [inFlight, pauses] = await Promise.all([this.repository.countAwaitingReply(null), this.pauses.list()]);
    const pauseOf = new Map(pauses.map((p) => [p.participant, p]));
    const now = Date.now();
    const names = [...this.breakers.keys(), ...inFlight.keys(), ...pauseOf.keys(), ...this.replyTimes.participants()];
    return [...new Set(names)].sort().map((participant) => {
      const breaker = this.breakers.get(participant) ?? CLOSED_BREAKER;
      const pause = pauseOf.get(participant);
      return {
        participant,
        circuit: circuitAt(breaker, now),
        inFlight: inFlight.get(participant) ?? 0,
        failureRatio: failureRatio(breaker),
        paused: pause ? { since: pause.pausedAt.toISOString(), by: pause.pausedBy, note: pause.note } : null,
        adaptiveTimeouts: this.replyTimes.statusOf(participant),
      };
    });
  }

  private admit(participant: string, now: number): Admission {
    const verdict = admitCall(this.breakers.get(participant) ?? CLOSED_BREAKER, this.policy, now);
    if (!verdict.admitted) return { admitted: false, reason: 'circuit_open', retryAt: verdict.until ?? this.retryAt(now) };
    if (this.inFlight.count(participant) >= this.config.MAX_IN_FLIGHT_PER_PARTICIPANT) {
      return { admitted: false, reason: 'in_flight_limit', retryAt: this.retryAt(now) };
    }
    // Kept only now: a command held for the in-flight bound must not use up a probe.
    this.breakers.set(participant, verdict.state);
    return { admitted: true };
  }

  /** HOLD_RETRY_MS ± 50 %, so that held commands do not all come back at once. */
  private retryAt(now: number): number {
    return now + Math.ceil(this.config.HOLD_RETRY_MS * (0.5 + Math.random()));
  }

  private learn(committed: readonly CommittedDecision[], now: number): void {
    for (const { layout, effects } of committed) {
      const participantOf = new Map(layout.map((step) => [step.id, step.participant]));
      for (const effect of effects) {
        if (effect.kind === 'send') {
          this.inFlight.committed(effect.participant, now);
          continue;
        }
        // A reply or a timeout ends a command: it frees a place and tells about its participant.
        const { event } = effect;
        const health = callHealthOf(event);
        const participant = health && 'stepId' in event ? participantOf.get(event.stepId) : undefined;
        if (!health || !participant) continue;
        this.inFlight.ended(participant, now);
        // A timeout while replies pile up unconsumed is the coordinators' fault, not the participant's.
        if (event.type === 'step.timed_out' && this.replyFlow.stalled(now)) continue;
        this.record(participant, health, now);
      }
    }
  }

  private record(participant: string, health: CallHealth, now: number): void {
    const before = this.breakers.get(participant) ?? CLOSED_BREAKER;
    const after = recordCall(before, this.policy, health, now);
    this.breakers.set(participant, after);
    if (after.circuit === 'open' && before.circuit !== 'open') {
      const ratio = failureRatio(after);
      this.logger.warn(`circuit of ${participant} opened for ${this.policy.openMs} ms (failure ratio ${ratio.toFixed(2)})`);
      this.alerts.circuitOpened(participant, ratio, this.policy.openMs, now);
    } else if (after.circuit === 'closed' && before.circuit === 'half_open') {
      this.logger.log(`circuit of ${participant} closed`);
    }
  }
}
