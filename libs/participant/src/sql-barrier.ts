import { Command } from '@ordo/protocol';
import { EntityManager } from 'typeorm';
import { BarrierDecision, barrierDecision, BarrierRow, BarrierRows, barrierWrites, forwardPhaseOf, ReplyBody } from './barrier-rules';

export interface BarrierPass {
  decision: BarrierDecision['kind'];
  reply: ReplyBody;
}

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
  await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${command.txId}/${command.stepId}`]);
  const forward = forwardPhaseOf(command.phase);
  const phases = forward ? [command.phase, forward] : [command.phase];
  const found: { phase: string; origin: BarrierRow['origin']; reply: ReplyBody }[] = await manager.query(
    'SELECT phase, origin, reply FROM ordo_barrier WHERE tx_id = $1 AND step_id = $2 AND phase = ANY($3)',
    [command.txId, command.stepId, phases],
  );
  const row = (phase: string | null) => {
    const hit = found.find((r) => r.phase === phase);
    return hit ? { origin: hit.origin, reply: hit.reply } : undefined;
  };
  const rows: BarrierRows = { own: row(command.phase), forward: row(forward) };
  const decision = barrierDecision(command.phase, rows);
  const reply = decision.kind === 'run' ? await handler() : decision.reply;
  for (const write of barrierWrites(command.phase, decision, reply)) {
    await manager.query(
      `INSERT INTO ordo_barrier (tx_id, step_id, phase, origin, reply) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING`,
      [command.txId, command.stepId, write.phase, write.row.origin, JSON.stringify(write.row.reply)],
    );
  }
  return { decision: decision.kind, reply };
}
