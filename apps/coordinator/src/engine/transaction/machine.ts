import { Phase } from '@ordo/protocol';
import { freshAttempts } from '../attempts/attempts';
import { ResolvedDefinition } from '../definition/definition';
import { concludeRefused } from './dispatch';
import { accept, Decision, reject } from './decision';
import { draftOf } from './draft';
import { DecideContext, TransactionEvent } from './inputs';
import { startTransaction } from './lifecycle';
import { abort, editInput, failStep, replay, resolve, retryNow, setAttempts, skip } from './operators';
import { clockOf, participantResumed, pause, Restart, resume } from './pause';
import { ProtocolRules } from './protocol-rules';
import { applyReply } from './replies';
import { StepState, TransactionState } from './transaction-state';

/** Every step pending in the protocol's first phase; the transaction not started yet. */
export function initialState<P extends Phase>(definition: ResolvedDefinition, firstPhase: P): TransactionState<P> {
  const pending = (maxAttempts: number): StepState<P> => ({
    ...freshAttempts<P>(firstPhase, maxAttempts),
    status: 'pending',
    output: null,
    lastError: null,
  });
  return {
    status: 'running',
    paused: null,
    startedAt: null,
    deadline: null,
    rollback: null,
    steps: Object.fromEntries(definition.steps.map((step) => [step.id, pending(step.retry.maxAttempts)])),
  };
}

/**
 * The event dispatch every protocol shares: start once, then replies, timers and operators;
 * then the steps whose command could not be sent fail (concludeRefused).
 */
export function decideWith<S extends TransactionState>(rules: ProtocolRules<S>, state: S, event: TransactionEvent, ctx: DecideContext): Decision<S> {
  // A paused transaction decides as of its pause; resuming it needs the time it was paused.
  const at = event.type === 'resume' || event.type === 'participant_resumed' ? ctx : clockOf(state, ctx);
  const decision = decideEvent(rules, state, event, at);
  return decision.accepted ? accept(concludeRefused(decision, at, rules.attempts, rules.propagate)) : decision;
}

function decideEvent<S extends TransactionState>(rules: ProtocolRules<S>, state: S, event: TransactionEvent, ctx: DecideContext): Decision<S> {
  const draft = draftOf(state);
  if (event.type === 'started') {
    return state.startedAt === null
      ? accept(rules.propagate(startTransaction(draft, event.actor, ctx), ctx))
      : reject('already_started', 'the transaction has already started');
  }
  if (state.startedAt === null) return reject('not_started', 'the transaction has not started');
  switch (event.type) {
    case 'reply':
      return accept(rules.propagate(applyReply(draft, event, ctx, rules.attempts), ctx));
    case 'timer':
      // No timer runs while paused (a claim may still race a pause).
      return accept(state.paused ? draft : rules.propagate(rules.timer(draft, ctx), ctx));
    case 'abort':
      return abort(draft, event, ctx, rules);
    case 'retry':
      return replay(draft, event, ctx, rules);
    case 'resolve':
      return resolve(draft, event, ctx, rules);
    case 'skip':
      return skip(draft, event, ctx, rules);
    case 'fail_step':
      return failStep(draft, event, ctx, rules);
    case 'retry_now':
      return retryNow(draft, event, ctx, rules);
    case 'set_attempts':
      return setAttempts(draft, event);
    case 'edit_input':
      return editInput(draft, event, ctx, rules);
    case 'pause':
      return pause(draft, event, ctx);
    case 'resume':
      return resume(draft, event, ctx, restart(rules));
    case 'participant_resumed':
      return participantResumed(draft, event, ctx, restart(rules));
  }
}

/** Once a pause is over: whatever its timers made due, then whatever became possible. */
function restart<S extends TransactionState>(rules: ProtocolRules<S>): Restart<S> {
  return (draft, ctx) => rules.propagate(rules.timer(draft, ctx), ctx);
}
