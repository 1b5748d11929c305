import { Command } from '@ordo/protocol';
import { EntityManager } from 'typeorm';
import { BarrierDecision, barrierDecision, BarrierRow, BarrierRows, BarrierWrite, barrierWrites, forwardPhaseOf, ReplyBody } from './barrier-rules';

export interface BarrierPass {
  decision: BarrierDecision['kind'];
  reply: ReplyBody;
}

/** The key of a step's barrier rows and locks. */
export type StepRef = Pick<Command, 'txId' | 'stepId'>;

/** The step's rows of `phases` in the `ordo_barrier` table, by phase. */
export async function loadBarrierRows(manager: EntityManager, step: StepRef, phases: string[]): Promise<Map<string, BarrierRow>> {
  const found: { phase: string; origin: BarrierRow['origin']; reply: ReplyBody }[] = await manager.query(
    'SELECT phase, origin, reply FROM ordo_barrier WHERE tx_id = $1 AND step_id = $2 AND phase = ANY($3)',
    [step.txId, step.stepId, phases],
  );
  return new Map(found.map((r) => [r.phase, { origin: r.origin, reply: r.reply }]));
}

/** The command's own row and, for a compensating phase, its forward phase's row. */
export async function loadCommandRows(manager: EntityManager, command: Command): Promise<BarrierRows> {
  const forward = forwardPhaseOf(command.phase);
  const rows = await loadBarrierRows(manager, command, forward ? [command.phase, forward] : [command.phase]);
  return { own: rows.get(command.phase), forward: forward ? rows.get(forward) : undefined };
}

export async function storeBarrierWrites(manager: EntityManager, step: StepRef, writes: BarrierWrite[]): Promise<void> {
  for (const write of writes) {
    await manager.query(
      `INSERT INTO ordo_barrier (tx_id, step_id, phase, origin, reply) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING`,
      [step.txId, step.stepId, write.phase, write.row.origin, JSON.stringify(write.row.reply)],
    );
  }
}

/** The advisory lock key of a step: every delivery of one step's commands takes it. */
export const stepLockKey = (step: StepRef) => `${step.txId}/${step.stepId}`;

/**
 * The barrier over the `ordo_barrier` table, inside the caller's local transaction. A
 * transaction-scoped advisory lock on (txId, stepId) serialises deliveries of one step, so
 * reading the rows, running the business code and writing the rows act as one step.
 */
export async function passBarrier(
  manager: EntityManager,
  command: Command,
  handler: () => Promise<ReplyBody>,
): Promise<BarrierPass> {
  await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [stepLockKey(command)]);
  const decision = barrierDecision(command.phase, await loadCommandRows(manager, command));
  const reply = decision.kind === 'run' ? await handler() : decision.reply;
  await storeBarrierWrites(manager, command, barrierWrites(command.phase, decision, reply));
  return { decision: decision.kind, reply };
}
