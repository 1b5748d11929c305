import fc from 'fast-check';
import {
  admitCall,
  BreakerPolicy,
  BreakerState,
  CallHealth,
  callHealthOf,
  circuitAt,
  CLOSED_BREAKER,
  failureRatio,
  recordCall,
} from './circuit-breaker';

const policy: BreakerPolicy = { window: 4, minimumCalls: 3, failureRatio: 0.5, openMs: 1_000, halfOpenProbes: 2 };

const record = (state: BreakerState, healths: readonly CallHealth[], now = 0, p = policy): BreakerState =>
  healths.reduce((current, health) => recordCall(current, p, health, now), state);

/** Admits a call, failing the test if it is refused. */
const admitted = (state: BreakerState, now: number): BreakerState => {
  const verdict = admitCall(state, policy, now);
  if (!verdict.admitted) throw new Error(`refused at ${now}`);
  return verdict.state;
};

describe('circuit breaker', () => {
  it('admits every call while closed', () => {
    expect(admitCall(CLOSED_BREAKER, policy, 0)).toEqual({ admitted: true, state: CLOSED_BREAKER });
    const sick = record(CLOSED_BREAKER, ['unhealthy', 'healthy']);
    expect(admitCall(sick, policy, 0)).toMatchObject({ admitted: true });
  });

  it('opens once enough outcomes are in and the unhealthy share reaches the ratio', () => {
    expect(record(CLOSED_BREAKER, ['unhealthy', 'unhealthy']).circuit).toBe('closed');
    expect(record(CLOSED_BREAKER, ['healthy', 'healthy', 'unhealthy']).circuit).toBe('closed');
    const opened = record(CLOSED_BREAKER, ['healthy', 'unhealthy', 'healthy', 'unhealthy'], 500);
    expect(opened).toEqual({ circuit: 'open', recent: ['healthy', 'unhealthy', 'healthy', 'unhealthy'], until: 1_500 });
  });

  it('forgets outcomes older than the window', () => {
    const state = record(CLOSED_BREAKER, ['unhealthy', 'healthy', 'healthy', 'healthy', 'healthy']);
    expect(state.recent).toEqual(['healthy', 'healthy', 'healthy', 'healthy']);
    expect(failureRatio(state)).toBe(0);
    expect(record(state, ['unhealthy']).circuit).toBe('closed');
  });

  it('refuses every call while open, until its time is up', () => {
    const open = record(CLOSED_BREAKER, ['unhealthy', 'unhealthy', 'unhealthy'], 0);
    expect(admitCall(open, policy, 999)).toEqual({ admitted: false, until: 1_000 });
    expect(circuitAt(open, 999)).toBe('open');
    expect(circuitAt(open, 1_000)).toBe('half_open');
    // Outcomes that come in meanwhile (late answers) are kept for the ratio, nothing more.
    expect(record(open, ['healthy'], 500)).toMatchObject({ circuit: 'open', until: 1_000 });
  });

  it('lets a few probes through when half-open, and closes with a clean window when they are healthy', () => {
    const open = record(CLOSED_BREAKER, ['unhealthy', 'unhealthy', 'unhealthy'], 0);
    const probing = admitted(admitted(open, 1_000), 1_001);
    expect(probing).toMatchObject({ circuit: 'half_open', probes: 2, healthy: 0, roundEndsAt: 2_000 });
    expect(admitCall(probing, policy, 1_002)).toEqual({ admitted: false, until: null });
    const oneHealthy = record(probing, ['healthy'], 1_100);
    expect(oneHealthy).toMatchObject({ circuit: 'half_open', healthy: 1 });
    expect(record(oneHealthy, ['healthy'], 1_200)).toEqual(CLOSED_BREAKER);
  });

  it('opens again when a probe is unhealthy', () => {
    const probing = admitted(record(CLOSED_BREAKER, ['unhealthy', 'unhealthy', 'unhealthy'], 0), 1_000);
    const reopened = record(probing, ['healthy', 'unhealthy'], 1_300);
    expect(reopened).toMatchObject({ circuit: 'open', until: 2_300 });
    expect(admitCall(reopened, policy, 2_299)).toMatchObject({ admitted: false });
  });

  it('starts a new round of probes when a round has not told within openMs', () => {
    const probing = admitted(admitted(record(CLOSED_BREAKER, ['unhealthy', 'unhealthy', 'unhealthy'], 0), 1_000), 1_000);
    expect(admitCall(probing, policy, 1_999)).toMatchObject({ admitted: false });
    expect(admitted(probing, 2_000)).toMatchObject({ circuit: 'half_open', probes: 1, roundEndsAt: 3_000 });
  });

  it('tells healthy from unhealthy outcomes', () => {
    const replied = (phase: 'execute' | 'compensate', outcome: 'success' | 'failure' | 'retry') =>
      callHealthOf({ type: 'step.replied', stepId: 's', phase, attempt: 1, outcome });
    expect(replied('execute', 'success')).toBe('healthy');
    expect(replied('execute', 'failure')).toBe('healthy');
    expect(replied('execute', 'retry')).toBe('unhealthy');
    expect(replied('compensate', 'success')).toBe('healthy');
    expect(replied('compensate', 'failure')).toBe('unhealthy');
    expect(callHealthOf({ type: 'step.timed_out', stepId: 's', phase: 'execute', attempt: 1 })).toBe('unhealthy');
    expect(callHealthOf({ type: 'step.dispatched', stepId: 's', phase: 'execute', attempt: 1, deadline: 0 })).toBeNull();
  });

  describe('properties', () => {
    const arbPolicy: fc.Arbitrary<BreakerPolicy> = fc
      .record({
        window: fc.integer({ min: 1, max: 20 }),
        minimumFraction: fc.double({ min: 0, max: 1, noNaN: true }),
        failureRatio: fc.double({ min: 0.01, max: 1, noNaN: true }),
        openMs: fc.integer({ min: 1, max: 500 }),
        halfOpenProbes: fc.integer({ min: 1, max: 5 }),
      })
      .map(({ minimumFraction, ...rest }) => ({ ...rest, minimumCalls: Math.max(1, Math.round(minimumFraction * rest.window)) }));

    type Op = { readonly kind: 'admit'; readonly after: number } | { readonly kind: 'record'; readonly after: number; readonly health: CallHealth };
    const arbOps: fc.Arbitrary<Op[]> = fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('admit' as const), after: fc.integer({ min: 0, max: 200 }) }),
        fc.record({
          kind: fc.constant('record' as const),
          after: fc.integer({ min: 0, max: 200 }),
          health: fc.constantFrom<CallHealth>('healthy', 'unhealthy'),
        }),
      ),
      { maxLength: 200 },
    );

    it('never admits while open, admits at most halfOpenProbes per round, opens and closes only by the rules', () => {
      fc.assert(
        fc.property(arbPolicy, arbOps, (p, ops) => {
          let state: BreakerState = CLOSED_BREAKER;
          let now = 0;
          let openedAt = -Infinity;
          /** Outcomes since the circuit last closed, and since it last became half-open. */
          let sinceClosed: CallHealth[] = [];
          let sinceHalfOpen: CallHealth[] = [];
          let probesThisRound = 0;
          for (const op of ops) {
            now += op.after;
            const before = state;
            if (op.kind === 'admit') {
              const verdict = admitCall(state, p, now);
              if (before.circuit === 'open' && now < openedAt + p.openMs) expect(verdict.admitted).toBe(false);
              if (!verdict.admitted) {
                expect(before.circuit).not.toBe('closed');
                continue;
              }
              state = verdict.state;
              if (state.circuit === 'half_open') {
                if (before.circuit !== 'half_open') sinceHalfOpen = [];
                const newRound = before.circuit !== 'half_open' || state.roundEndsAt !== before.roundEndsAt;
                probesThisRound = newRound ? 1 : probesThisRound + 1;
                expect(probesThisRound).toBeLessThanOrEqual(p.halfOpenProbes);
              }
              continue;
            }
            state = recordCall(state, p, op.health, now);
            sinceClosed = [...sinceClosed, op.health];
            sinceHalfOpen = [...sinceHalfOpen, op.health];
            if (before.circuit === 'closed') {
              const window = sinceClosed.slice(-p.window);
              const share = window.filter((h) => h === 'unhealthy').length / window.length;
              const shouldOpen = window.length >= p.minimumCalls && share >= p.failureRatio;
              expect(state.circuit).toBe(shouldOpen ? 'open' : 'closed');
            }
            if (before.circuit === 'half_open') {
              const healthy = sinceHalfOpen.every((h) => h === 'healthy');
              const closes = healthy && sinceHalfOpen.length >= p.halfOpenProbes;
              expect(state.circuit).toBe(!healthy ? 'open' : closes ? 'closed' : 'half_open');
            }
            if (before.circuit !== 'open' && state.circuit === 'open') openedAt = now;
            if (state.circuit === 'closed' && before.circuit !== 'closed') sinceClosed = [];
          }
        }),
        { numRuns: 2000 },
      );
    });

    it('closes after halfOpenProbes healthy probes once open, whatever came before', () => {
      fc.assert(
        fc.property(arbPolicy, arbOps, (p, ops) => {
          let now = 0;
          let state = ops.reduce<BreakerState>((current, op) => {
            now += op.after;
            if (op.kind === 'record') return recordCall(current, p, op.health, now);
            const verdict = admitCall(current, p, now);
            return verdict.admitted ? verdict.state : current;
          }, CLOSED_BREAKER);
          // Terminates: a closed window full of unhealthy outcomes trips; a half-open circuit reopens at once.
          while (state.circuit !== 'open') state = recordCall(state, p, 'unhealthy', now);
          now += p.openMs;
          for (let probe = 0; probe < p.halfOpenProbes; probe++) {
            const verdict = admitCall(state, p, now);
            expect(verdict.admitted).toBe(true);
            if (verdict.admitted) state = verdict.state;
          }
          for (let probe = 0; probe < p.halfOpenProbes; probe++) state = recordCall(state, p, 'healthy', now);
          expect(circuitAt(state, now)).toBe('closed');
        }),
        { numRuns: 2000 },
      );
    });
  });
});
