// Random scenarios for the machines' property tests: deliveries, a flaky gate, and checks
// every protocol shares (excluded from the build by its folder name).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Outcome } from '@ordo/protocol';
import { Effect } from '../transaction/effects';
import { HistoryEvent } from '../transaction/history';
import { Admission, Gate, HOLD_REASONS } from '../transaction/inputs';
import { StepStatus, TransactionState, TxStatus } from '../transaction/transaction-state';
import { sendsOf } from './machine-harness';

export type Move =
  /** Answer a command still waiting for its reply. */
  | { readonly kind: 'reply'; readonly pick: number; readonly outcome: Outcome }
  /** Deliver a reply to any command ever sent again: duplicates, late and out-of-order replies. */
  | { readonly kind: 'redeliver'; readonly pick: number; readonly outcome: Outcome }
  /** A reply to an attempt never sent, or for a phase the step is not in. */
  | { readonly kind: 'bogus'; readonly pick: number; readonly outcome: Outcome }
  /** Lose a command: only its timeout will tell. */
  | { readonly kind: 'drop'; readonly pick: number }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'abort' };

export const arbOutcome = (failureWeight: number): fc.Arbitrary<Outcome> =>
  fc.oneof(
    { arbitrary: fc.constant<Outcome>('success'), weight: 6 },
    { arbitrary: fc.constant<Outcome>('failure'), weight: failureWeight },
    { arbitrary: fc.constant<Outcome>('retry'), weight: 2 },
  );

export const arbMoves = (failureWeight: number): fc.Arbitrary<Move[]> => {
  const answer = <K extends 'reply' | 'redeliver' | 'bogus'>(kind: K) =>
    fc.record({ kind: fc.constant(kind), pick: fc.nat(), outcome: arbOutcome(failureWeight) });
  return fc.array(
    fc.oneof(
      { arbitrary: answer('reply'), weight: 10 },
      { arbitrary: answer('redeliver'), weight: 2 },
      { arbitrary: answer('bogus'), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('drop'), pick: fc.nat() }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('wait'), ms: fc.integer({ min: 0, max: 400 }) }), weight: 3 },
      { arbitrary: fc.constant({ kind: 'abort' as const }), weight: 1 },
    ),
    { maxLength: 60 },
  );
};

/** Statuses in which nothing happens without an operator. */
export const STOPPED: readonly TxStatus[] = ['completed', 'compensated', 'failed'];

/** A small deterministic PRNG, so a scenario replays exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A gate that holds commands back at random, for a random while. In the ending it refuses
 * only `budget` more times: a gate that never admits again would stall any transaction.
 */
export class RandomGate implements Gate {
  /** What it answered during the current decision. */
  verdicts: Admission[] = [];
  budget = Infinity;

  constructor(
    private readonly clock: { readonly now: number },
    private readonly rate: number,
    private readonly random: () => number,
  ) {}

  admit(): Admission {
    const refuse = this.budget > 0 && this.random() < this.rate;
    const reason = HOLD_REASONS[Math.floor(this.random() * HOLD_REASONS.length)];
    const verdict: Admission = refuse
      ? { admitted: false, reason, retryAt: this.clock.now + 1 + Math.floor(this.random() * 300) }
      : { admitted: true };
    if (refuse) this.budget--;
    this.verdicts.push(verdict);
    return verdict;
  }

  /**
   * Every command of the decision was admitted, every admission was used, and each hold was
   * recorded as refused. A held step still waiting in its phase waits until the gate's time.
   */
  check(effects: readonly Effect[], after: TransactionState): void {
    const admitted = this.verdicts.filter((verdict) => verdict.admitted);
    assert.equal(sendsOf(effects).length, admitted.length, 'commands sent differ from admissions');
    const refusals = this.verdicts.flatMap((verdict) => (verdict.admitted ? [] : [verdict]));
    const lastHeld = new Map<string, Extract<HistoryEvent, { type: 'step.held' }>>();
    for (const effect of effects) {
      if (effect.kind !== 'record' || effect.event.type !== 'step.held') continue;
      const { stepId, reason, until } = effect.event;
      const index = refusals.findIndex((refusal) => refusal.reason === reason && refusal.retryAt === until);
      assert.ok(index >= 0, `${stepId} held without a refusal`);
      refusals.splice(index, 1);
      lastHeld.set(stepId, effect.event);
    }
    // (A rollback in the same decision may have dropped a held forward attempt.)
    for (const [stepId, { phase, until }] of lastHeld) {
      const step = after.steps[stepId];
      if (step.phase === phase && step.waitingFor !== null) assert.deepEqual([step.waitingFor, step.dueAt], ['hold', until]);
    }
  }
}

/** Replays the recorded status changes: they must always give the current statuses. */
export class StatusFollower {
  private readonly steps = new Map<string, StepStatus>();
  private transaction: TxStatus = 'running';

  constructor(stepIds: readonly string[]) {
    stepIds.forEach((id) => this.steps.set(id, 'pending'));
  }

  follow(effects: readonly Effect[], after: TransactionState): void {
    for (const effect of effects) {
      if (effect.kind !== 'record') continue;
      const { event } = effect;
      if (event.type === 'step.status_changed') {
        assert.equal(this.steps.get(event.stepId), event.from);
        this.steps.set(event.stepId, event.to);
      } else if (event.type === 'transaction.status_changed') {
        assert.equal(this.transaction, event.from);
        this.transaction = event.to;
      }
    }
    assert.equal(this.transaction, after.status);
    for (const [id, step] of Object.entries(after.steps)) assert.equal(this.steps.get(id), step.status);
  }
}
