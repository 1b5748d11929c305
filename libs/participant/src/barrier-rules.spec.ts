import fc from 'fast-check';
import { mustSucceed, Outcome, Phase, PHASES, TX_TYPES } from '@ordo/protocol';
import {
  barrierDecision,
  BarrierRow,
  FENCE,
  FENCE_REPLY,
  forwardPhaseOf,
  isFinalReply,
  NULL_COMPENSATION_REPLY,
  ownRow,
  ReplyBody,
} from './barrier-rules';

const ok: ReplyBody = { outcome: 'success', output: { id: 'r-1' } };
const refused: ReplyBody = { outcome: 'failure', error: { code: 'NO_STOCK', message: 'out of stock' } };
const ran = (reply: ReplyBody): BarrierRow => ({ origin: 'handler', reply });
const fence = FENCE;

describe('forwardPhaseOf', () => {
  it.each([
    ['compensate', 'execute'],
    ['cancel', 'try'],
    ['abort', 'prepare'],
    ['execute', null],
    ['try', null],
    ['prepare', null],
    ['confirm', null],
    ['commit', null],
  ] as const)('%s -> %s', (phase, forward) => {
    expect(forwardPhaseOf(phase)).toBe(forward);
  });
});

describe('isFinalReply', () => {
  it.each(['execute', 'try', 'prepare'] as const)('%s: success and failure are final, retry is not', (phase) => {
    expect([isFinalReply(phase, 'success'), isFinalReply(phase, 'failure'), isFinalReply(phase, 'retry')]).toEqual([true, true, false]);
  });

  it.each(['compensate', 'cancel', 'abort', 'confirm', 'commit'] as const)('%s must succeed: only success is final', (phase) => {
    expect([isFinalReply(phase, 'success'), isFinalReply(phase, 'failure'), isFinalReply(phase, 'retry')]).toEqual([true, false, false]);
  });
});

describe('barrierDecision', () => {
  describe.each(['execute', 'try', 'prepare'] as const)('forward phase %s', (phase) => {
    it('runs the first time', () => {
      expect(barrierDecision(phase, {})).toEqual({ kind: 'run' });
    });

    it('replays the stored reply to a duplicate, success or refusal', () => {
      expect(barrierDecision(phase, { own: ran(ok) })).toEqual({ kind: 'duplicate', reply: ok });
      expect(barrierDecision(phase, { own: ran(refused) })).toEqual({ kind: 'duplicate', reply: refused });
    });

    it('refuses a hanging request whose row a compensation fenced', () => {
      expect(barrierDecision(phase, { own: fence })).toEqual({ kind: 'hanging', reply: FENCE_REPLY });
    });
  });

  describe.each(['compensate', 'cancel', 'abort'] as const)('compensating phase %s', (phase) => {
    it('runs when the forward phase succeeded', () => {
      expect(barrierDecision(phase, { forward: ran(ok) })).toEqual({ kind: 'run' });
    });

    it('is a null compensation when its fence claimed the forward row: the forward phase never ran', () => {
      expect(barrierDecision(phase, {})).toEqual({ kind: 'null_compensation', reply: NULL_COMPENSATION_REPLY });
    });

    it('is a null compensation when the forward phase refused', () => {
      expect(barrierDecision(phase, { forward: ran(refused) })).toEqual({ kind: 'null_compensation', reply: NULL_COMPENSATION_REPLY });
    });

    it('replays its stored reply to a duplicate', () => {
      const nullCompensation: BarrierRow = { origin: 'null_compensation', reply: NULL_COMPENSATION_REPLY };
      expect(barrierDecision(phase, { own: nullCompensation, forward: fence })).toEqual({ kind: 'duplicate', reply: NULL_COMPENSATION_REPLY });
      expect(barrierDecision(phase, { own: ran(ok), forward: ran(ok) })).toEqual({ kind: 'duplicate', reply: ok });
    });
  });

  describe.each(['confirm', 'commit'] as const)('%s', (phase) => {
    it('runs once and replays its reply afterwards', () => {
      expect(barrierDecision(phase, {})).toEqual({ kind: 'run' });
      expect(barrierDecision(phase, { own: ran(ok) })).toEqual({ kind: 'duplicate', reply: ok });
    });
  });
});

describe('ownRow', () => {
  it('keeps a final reply of the business code, and nothing for a retry or a retried failure', () => {
    expect(ownRow('execute', { kind: 'run' }, refused)).toEqual(ran(refused));
    expect(ownRow('execute', { kind: 'run' }, { outcome: 'retry' })).toBeNull();
    expect(ownRow('compensate', { kind: 'run' }, refused)).toBeNull();
    expect(ownRow('commit', { kind: 'run' }, ok)).toEqual(ran(ok));
  });

  it('records a null compensation', () => {
    const decision = barrierDecision('cancel', {});
    expect(ownRow('cancel', decision, decision.kind === 'null_compensation' ? decision.reply : ok)).toEqual({
      origin: 'null_compensation',
      reply: NULL_COMPENSATION_REPLY,
    });
  });

  it('keeps nothing for a duplicate or a hanging request (they claimed nothing)', () => {
    expect(ownRow('execute', barrierDecision('execute', { own: ran(ok) }), ok)).toBeNull();
    expect(ownRow('execute', barrierDecision('execute', { own: fence }), FENCE_REPLY)).toBeNull();
  });
});

/**
 * Any order of (re)deliveries of one step's phases, with any answer from the business code,
 * keeps the promises the barrier exists for.
 */
describe('barrier over arbitrary deliveries', () => {
  const arbScenario = fc.constantFrom(...TX_TYPES).chain((type) =>
    fc.record({
      type: fc.constant(type),
      deliveries: fc.array(
        fc.record({
          phase: fc.constantFrom<Phase>(...PHASES[type]),
          // What the business code answers if it runs; null: it never answers (a crash).
          answer: fc.constantFrom<Outcome | null>('success', 'failure', 'retry', null),
        }),
        { maxLength: 12 },
      ),
    }),
  );

  it('applies each effect at most once, undoes only what was done, never works forward after an undo, and never gets stuck', () => {
    fc.assert(
      fc.property(arbScenario, ({ deliveries }) => {
        const rows = new Map<Phase, BarrierRow>();
        const effects: Phase[] = [];
        const firstFinal = new Map<Phase, ReplyBody>();
        for (const { phase, answer } of deliveries) {
          // The store, insert first: claim the own row; a compensation that got it fences its forward row.
          const forward = forwardPhaseOf(phase);
          const own = rows.get(phase);
          const forwardRow = !own && forward ? rows.get(forward) : undefined;
          const decision = barrierDecision(phase, { own, forward: forwardRow });
          const handled = answer === null ? null : { outcome: answer };
          const reply = decision.kind === 'run' ? handled : decision.reply;
          // A handler that never answers (a crash) rolls its claims back with it.
          const kept = reply && ownRow(phase, decision, reply);
          if (kept) rows.set(phase, kept);
          if (kept && forward && !own && !forwardRow) rows.set(forward, FENCE);
          if (decision.kind === 'run' && reply?.outcome === 'success') {
            // An undo only ever follows the work it undoes, and forward work never follows an undo.
            if (forward) expect(effects).toContain(forward);
            if (!forward) expect(effects.some((done) => forwardPhaseOf(done) === phase)).toBe(false);
            effects.push(phase);
          }
          // Once a phase has a final reply, every delivery of it gets exactly that reply.
          const stored = rows.get(phase);
          if (stored && stored.origin !== 'fence') {
            if (!firstFinal.has(phase)) firstFinal.set(phase, stored.reply);
            expect(reply).toEqual(firstFinal.get(phase));
          }
          // A phase that must succeed never stays stuck on an earlier unsuccessful attempt.
          if (mustSucceed(phase) && answer === 'success') expect(reply?.outcome).toBe('success');
        }
        expect(new Set(effects).size).toBe(effects.length);
      }),
    );
  });
});
