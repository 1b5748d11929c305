/**
 * Sending a step's next attempt, the one way every protocol sends a command: the gate may
 * hold it, a pause holds it, a command too large is refused (and concluded as a failure).
 */
import { JsonObject } from '@ordo/protocol';
import { holdUntil, sendAttempt } from '../attempts/attempts';
import { stepSpec } from '../definition/definition';
import { resolveInput } from '../definition/input-mapping';
import { adaptiveTimeoutMs } from '../timeouts/adaptive-timeout';
import { Draft, emit, record, updateStep } from './draft';
import { toCommand } from './effects';
import { DecideContext } from './inputs';
import { holdForPause, pauseFor } from './pause';
import { AttemptRules } from './protocol-rules';
import { stepOutputs, TransactionState } from './transaction-state';

/** What a command carries besides the attempt bookkeeping. */
export interface Dispatch {
  readonly participant: string;
  readonly action: string;
  readonly input: JsonObject;
  readonly timeoutMs: number;
  /** The timeout is adaptive: the attempt keeps it (it varies from attempt to attempt). */
  readonly adaptive: boolean;
}

/**
 * Sends the next attempt of the step's current phase as `action`, to the step's participant,
 * with the step's input (the same for every phase of a step) and timeout: the fixed one, or
 * the adaptive one in force for the participant.
 */
export function dispatchStep<S extends TransactionState>(draft: Draft<S>, stepId: string, action: string, ctx: DecideContext): Draft<S> {
  const { participant, timeoutMs, adaptiveTimeout } = stepSpec(ctx.definition, stepId);
  const inForce = adaptiveTimeout ? adaptiveTimeoutMs(adaptiveTimeout, ctx.replyTimes.estimate(participant, adaptiveTimeout)) : timeoutMs;
  const dispatch = { participant, action, input: stepInput(draft.state, stepId, ctx), timeoutMs: inForce, adaptive: adaptiveTimeout !== null };
  return dispatchAttempt(draft, stepId, dispatch, ctx);
}

/** What the step's commands carry: the input an operator set, else its mapped input. */
export function stepInput(state: TransactionState, stepId: string, ctx: Pick<DecideContext, 'definition' | 'input'>): JsonObject {
  return state.steps[stepId].input ?? resolveInput(stepSpec(ctx.definition, stepId).input, ctx.input, stepOutputs(state));
}

/** Every transaction id is a UUID of this length, so a command's size does not depend on which. */
const SOME_TX_ID = '00000000-0000-4000-8000-000000000000';

/** The error of a step whose command was too large to send. */
export const COMMAND_TOO_LARGE = 'COMMAND_TOO_LARGE';

/**
 * Sends the next attempt of the step's current phase, or, when the gate refuses, holds the
 * step until the gate's retry time without using an attempt; in a paused transaction, or to
 * a paused participant (which pauses the transaction), until the resume (pause.ts). A command larger than
 * `ctx.maxCommandBytes` is not sent: the step is `refused` (its budget shrinks, its attempt
 * number does not, so nothing counts as sent and nothing needs undoing) and decideWith
 * concludes it as a failure.
 */
export function dispatchAttempt<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  { participant, action, input, timeoutMs, adaptive }: Dispatch,
  ctx: DecideContext,
): Draft<S> {
  // A paused transaction sends nothing: the command waits for the resume.
  if (draft.state.paused) return holdForPause(draft, stepId, participant, 'transaction_paused');
  const before = draft.state.steps[stepId];
  if (ctx.maxCommandBytes !== undefined) {
    const attempt = before.attempt + 1;
    const send = { kind: 'send', stepId, participant, phase: before.phase, action, attempt, input, deadline: ctx.now + timeoutMs } as const;
    const bytes = Buffer.byteLength(JSON.stringify(toCommand(SOME_TX_ID, ctx.definition.type, send)));
    if (bytes > ctx.maxCommandBytes) {
      const refused = updateStep(draft, stepId, { waitingFor: 'refused', dueAt: null, attemptsLeft: Math.max(0, before.attemptsLeft - 1) });
      return record(refused, { type: 'step.undeliverable', stepId, phase: before.phase, bytes, maxBytes: ctx.maxCommandBytes });
    }
  }
  const admission = ctx.gate.admit(participant);
  if (!admission.admitted && admission.reason === 'participant_paused') {
    return holdForPause(pauseFor(draft, participant, ctx.now), stepId, participant, 'participant_paused');
  }
  if (!admission.admitted) {
    const { reason, retryAt: until } = admission;
    const held = updateStep(draft, stepId, holdUntil(before, until));
    // Held again: the history already says since when and why.
    if (before.waitingFor === 'hold') return held;
    return record(held, { type: 'step.held', stepId, phase: before.phase, participant, reason, until });
  }
  const step = sendAttempt(before, timeoutMs, ctx.now, adaptive);
  const { phase, attempt, dueAt: deadline } = step;
  const sent = record(updateStep(draft, stepId, step), { type: 'step.dispatched', stepId, phase, attempt, deadline });
  return emit(sent, { kind: 'send', stepId, participant, phase, action, attempt, input, deadline });
}

/**
 * Steps whose command could not be sent (dispatchAttempt) fail at once with
 * COMMAND_TOO_LARGE, as if their participant had refused them, and the machine moves on;
 * until none is left, as a rollback's compensations may be refused in turn.
 */
export function concludeRefused<S extends TransactionState>(
  draft: Draft<S>,
  ctx: DecideContext,
  rules: AttemptRules<S>,
  propagate: (draft: Draft<S>, ctx: DecideContext) => Draft<S>,
): Draft<S> {
  let current = draft;
  // A step is refused at most once per phase it enters, and a saga step has two phases.
  let rounds = 2 * ctx.definition.steps.length + 1;
  for (let refused = refusedSteps(current.state); refused.length > 0; refused = refusedSteps(current.state)) {
    if (rounds-- === 0) throw new Error('invariant: commands kept being refused within one decision');
    current = propagate(
      refused.reduce((next, id) => {
        const { phase } = next.state.steps[id];
        const message = `the ${phase} command of step ${id} is larger than ${ctx.maxCommandBytes} bytes and cannot be sent`;
        return rules.conclude(next, id, 'failure', null, { code: COMMAND_TOO_LARGE, message }, ctx);
      }, current),
      ctx,
    );
  }
  return current;
}

const refusedSteps = (state: TransactionState): string[] =>
  Object.entries(state.steps).flatMap(([id, step]) => (step.waitingFor === 'refused' ? [id] : []));
