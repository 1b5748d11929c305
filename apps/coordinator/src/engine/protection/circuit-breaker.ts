/**
 * A circuit breaker for one participant, as pure functions over an immutable state.
 *
 * closed     Every call is admitted. The latest `window` outcomes are kept; once at least
 *            `minimumCalls` are known and the unhealthy ones make up `failureRatio` of them,
 *            the circuit opens.
 * open       No call is admitted for `openMs`; the next call after that is the first probe
 *            of the half-open circuit.
 * half_open  Up to `halfOpenProbes` calls are admitted as probes. That many healthy outcomes
 *            close the circuit with a clean window; one unhealthy outcome opens it again.
 *            When a round of probes has not told within `openMs` (their outcomes may reach
 *            another coordinator instance, or be lost with a crash), a new round may start.
 *
 * Outcomes count whichever call they answer: a late answer to a call admitted before the
 * circuit opened tells as much about the participant as a probe's.
 */
import { isForwardPhase } from '@ordo/protocol';
import { HistoryEvent } from '../transaction/history';

export interface BreakerPolicy {
  /** How many of the latest outcomes are kept. */
  readonly window: number;
  /** Outcomes needed in the window before it may open the circuit; at most `window`. */
  readonly minimumCalls: number;
  /** Share of unhealthy outcomes, in (0, 1], that opens the circuit. */
  readonly failureRatio: number;
  readonly openMs: number;
  readonly halfOpenProbes: number;
}

export type CallHealth = 'healthy' | 'unhealthy';

export const CIRCUITS = ['closed', 'open', 'half_open'] as const;
export type Circuit = (typeof CIRCUITS)[number];

export type BreakerState =
  | { readonly circuit: 'closed'; readonly recent: readonly CallHealth[] }
  | { readonly circuit: 'open'; readonly recent: readonly CallHealth[]; readonly until: number }
  | {
      readonly circuit: 'half_open';
      readonly recent: readonly CallHealth[];
      /** Probes admitted in the current round. */
      readonly probes: number;
      /** Healthy outcomes since the circuit became half-open. */
      readonly healthy: number;
      readonly roundEndsAt: number;
    };

export type BreakerVerdict =
  | { readonly admitted: true; readonly state: BreakerState }
  /** `until`: when a call may be admitted again; null: once the probes out have told. */
  | { readonly admitted: false; readonly until: number | null };

export const CLOSED_BREAKER: BreakerState = { circuit: 'closed', recent: [] };

/** May a call go out at `now`? An admitted call's state must be kept, or the probe is not counted. */
export function admitCall(state: BreakerState, policy: BreakerPolicy, now: number): BreakerVerdict {
  switch (state.circuit) {
    case 'closed':
      return { admitted: true, state };
    case 'open':
      if (now < state.until) return { admitted: false, until: state.until };
      return {
        admitted: true,
        state: { circuit: 'half_open', recent: state.recent, probes: 1, healthy: 0, roundEndsAt: now + policy.openMs },
      };
    case 'half_open':
      if (state.probes < policy.halfOpenProbes) return { admitted: true, state: { ...state, probes: state.probes + 1 } };
      if (now >= state.roundEndsAt) return { admitted: true, state: { ...state, probes: 1, roundEndsAt: now + policy.openMs } };
      return { admitted: false, until: null };
  }
}

/** Takes in the outcome of a call. */
export function recordCall(state: BreakerState, policy: BreakerPolicy, health: CallHealth, now: number): BreakerState {
  const recent = [...state.recent, health].slice(-policy.window);
  const open = (): BreakerState => ({ circuit: 'open', recent, until: now + policy.openMs });
  switch (state.circuit) {
    case 'closed':
      return trips(recent, policy) ? open() : { circuit: 'closed', recent };
    case 'open':
      return { ...state, recent };
    case 'half_open':
      if (health === 'unhealthy') return open();
      return state.healthy + 1 >= policy.halfOpenProbes ? CLOSED_BREAKER : { ...state, recent, healthy: state.healthy + 1 };
  }
}

/** The circuit as callers see it at `now`: an open circuit past its time is half-open. */
export function circuitAt(state: BreakerState, now: number): Circuit {
  return state.circuit === 'open' && now >= state.until ? 'half_open' : state.circuit;
}

/** Share of unhealthy outcomes among those kept; 0 when none is. */
export function failureRatio(state: BreakerState): number {
  return unhealthyShare(state.recent);
}

/**
 * What a history event tells about its participant, or null. Timeouts, `retry` and the
 * failure of a phase that must succeed are unhealthy; a refused execute / try / prepare is
 * a business answer from a participant that works.
 */
export function callHealthOf(event: HistoryEvent): CallHealth | null {
  switch (event.type) {
    case 'step.replied':
      return event.outcome === 'success' || (event.outcome === 'failure' && isForwardPhase(event.phase)) ? 'healthy' : 'unhealthy';
    case 'step.timed_out':
      return 'unhealthy';
    default:
      return null;
  }
}

function trips(recent: readonly CallHealth[], policy: BreakerPolicy): boolean {
  return recent.length >= policy.minimumCalls && unhealthyShare(recent) >= policy.failureRatio;
}

function unhealthyShare(recent: readonly CallHealth[]): number {
  return recent.length === 0 ? 0 : recent.filter((health) => health === 'unhealthy').length / recent.length;
}
