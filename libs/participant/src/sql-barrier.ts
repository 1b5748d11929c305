import { Command } from '@ordo/protocol';
import { EntityManager } from 'typeorm';
import { PreparedStatement, runPreparedIn } from '@ordo/platform';
import { BarrierDecisionKind, barrierDecision, BarrierRow, FENCE, forwardPhaseOf, ownRow, ReplyBody } from './barrier-rules';

/** The key of a step's barrier rows. */
export type StepRef = Pick<Command, 'txId' | 'stepId'>;

/** The key of one barrier row. */
export type BarrierKey = Pick<Command, 'txId' | 'stepId' | 'phase'>;

export interface BarrierPass {
  decision: BarrierDecisionKind;
  reply: ReplyBody;
}

/** Never committed: the batch's replies overwrite it before COMMIT (see `storeReplies`). */
const CLAIMED: BarrierRow = { origin: 'handler', reply: { outcome: 'retry', error: { code: 'IN_PROGRESS', message: 'not answered yet' } } };

const mapKey = (key: BarrierKey) => `${key.txId}\n${key.stepId}\n${key.phase}`;

/** The barrier's statements, prepared once per connection (runPreparedIn). */
const READ: PreparedStatement = {
  name: 'ordo_barrier_read',
  text: 'SELECT origin, reply FROM ordo_barrier WHERE tx_id = $1 AND step_id = $2 AND phase = $3',
};
const CLAIM: PreparedStatement = {
  name: 'ordo_barrier_claim',
  text: `INSERT INTO ordo_barrier (tx_id, step_id, phase, origin, reply) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING RETURNING 1`,
};
const RELEASE: PreparedStatement = {
  name: 'ordo_barrier_release',
  text: 'DELETE FROM ordo_barrier WHERE tx_id = $1 AND step_id = $2 AND phase = $3',
};
const LOCK_TIMEOUT: PreparedStatement = { name: 'ordo_barrier_lock_timeout', text: `SELECT set_config('lock_timeout', $1, true)` };
const CLAIM_ALL: PreparedStatement = {
  name: 'ordo_barrier_claim_all',
  text: `INSERT INTO ordo_barrier (tx_id, step_id, phase, origin, reply)
       SELECT r.tx_id, r.step_id, r.phase, $4, $5::jsonb
       FROM unnest($1::text[], $2::text[], $3::text[]) AS r (tx_id, step_id, phase)
       WHERE set_config('lock_timeout', $6, true) IS NOT NULL
       ON CONFLICT DO NOTHING RETURNING tx_id AS "txId", step_id AS "stepId", phase`,
};
const STORE_REPLIES: PreparedStatement = {
  name: 'ordo_barrier_store_replies',
  text: `UPDATE ordo_barrier b SET origin = r.origin, reply = r.reply
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) AS r (tx_id, step_id, phase, origin, reply)
       WHERE b.tx_id = r.tx_id AND b.step_id = r.step_id AND b.phase = r.phase`,
};

export async function readBarrierRow(manager: EntityManager, key: BarrierKey): Promise<BarrierRow | undefined> {
  const [row] = await runPreparedIn<BarrierRow>(manager, READ, [key.txId, key.stepId, key.phase]);
  return row;
}

/**
 * Inserts `row` unless `key` has one, and returns the row found then (undefined: inserted).
 * The unique key is the lock: a row another transaction is still writing is waited for,
 * and read once that one has committed.
 */
async function claimBarrierRow(manager: EntityManager, key: BarrierKey, row: BarrierRow): Promise<BarrierRow | undefined> {
  const inserted = await runPreparedIn(manager, CLAIM, [key.txId, key.stepId, key.phase, row.origin, JSON.stringify(row.reply)]);
  if (inserted.length > 0) return undefined;
  const found = await readBarrierRow(manager, key);
  // Only a deletion between the two statements gets here; the next attempt claims again.
  if (!found) throw new Error(`barrier row ${key.txId}/${key.stepId}/${key.phase} vanished`);
  return found;
}

/**
 * The barrier over the `ordo_barrier` table for the commands of one local transaction,
 * insert first (barrier-rules.ts). The rows it keeps hold a placeholder until
 * `storeReplies` writes every command's reply in one statement, just before COMMIT;
 * meanwhile a later command of the same transaction (a duplicate, a compensation after its
 * forward phase) finds their answers here instead of the placeholder.
 */
export class BarrierTransaction {
  /** Rows this transaction claimed and keeps, with their answers. */
  private readonly kept = new Map<string, { key: BarrierKey; row: BarrierRow }>();
  /** Rows `claimAll` inserted whose commands have not passed yet. */
  private readonly preclaimed = new Set<string>();

  constructor(private readonly manager: EntityManager) {}

  /**
   * Passes `command` through the barrier: `handler` (the business code, which must undo
   * its own writes when it does not succeed: runHandler rolls back to its savepoint, or throws
   * RunWithSavepoints to roll back the whole transaction) runs only on
   * `run`. A reply that is not final releases the command's claim, so the next attempt
   * runs again. `origin`: the stored row's origin in place of the rules' (the prepared
   * path, whose work happened before the barrier).
   */
  async pass(command: BarrierKey, handler: () => Promise<ReplyBody>, origin?: BarrierRow['origin']): Promise<BarrierPass> {
    const own = await this.claim(command, CLAIMED);
    const forwardPhase = forwardPhaseOf(command.phase);
    const forward = !own && forwardPhase ? await this.claim({ ...command, phase: forwardPhase }, FENCE) : undefined;
    const decision = barrierDecision(command.phase, { own, forward });
    const reply = decision.kind === 'run' ? await handler() : decision.reply;
    const row = ownRow(command.phase, decision, reply);
    if (row) this.kept.set(mapKey(command), { key: command, row: origin ? { ...row, origin } : row });
    // Claimed but not answered for good (only `run` gets here; the handler undid its writes).
    else if (!own) {
      await runPreparedIn(this.manager, RELEASE, [command.txId, command.stepId, command.phase]);
    }
    return { decision: decision.kind, reply };
  }

  /**
   * Claims the rows of `commands` in one statement, so that each `pass` after it needs none
   * for its own row, and sets the transaction's lock_timeout (ms) in the same round trip.
   * Only for commands of distinct steps: a compensation's fence must never meet a
   * forward phase's row claimed here but not yet run, so a group holding one step twice
   * (a duplicate, a compensation after its forward phase) claims command by command.
   */
  async claimAll(commands: BarrierKey[], lockTimeoutMs: number): Promise<void> {
    const steps = new Set(commands.map((c) => `${c.txId}\n${c.stepId}`));
    if (steps.size < commands.length) {
      await runPreparedIn(this.manager, LOCK_TIMEOUT, [String(lockTimeoutMs)]);
      return;
    }
    const inserted = await runPreparedIn<BarrierKey>(this.manager, CLAIM_ALL, [
      commands.map((c) => c.txId),
      commands.map((c) => c.stepId),
      commands.map((c) => c.phase),
      CLAIMED.origin,
      JSON.stringify(CLAIMED.reply),
      String(lockTimeoutMs),
    ]);
    for (const key of inserted) this.preclaimed.add(mapKey(key));
  }

  /** Every kept row's answer, in one statement (fences were inserted final). */
  async storeReplies(): Promise<void> {
    const rows = [...this.kept.values()].filter(({ row }) => row.origin !== 'fence');
    if (rows.length === 0) return;
    await runPreparedIn(this.manager, STORE_REPLIES, [
      rows.map(({ key }) => key.txId),
      rows.map(({ key }) => key.stepId),
      rows.map(({ key }) => key.phase),
      rows.map(({ row }) => row.origin),
      rows.map(({ row }) => JSON.stringify(row.reply)),
    ]);
  }

  /** A row this transaction keeps is known without a statement; a fence it inserts is kept. */
  private async claim(key: BarrierKey, row: BarrierRow): Promise<BarrierRow | undefined> {
    const known = this.kept.get(mapKey(key));
    if (known) return known.row;
    if (this.preclaimed.delete(mapKey(key))) return undefined;
    const found = await claimBarrierRow(this.manager, key, row);
    if (!found && row === FENCE) this.kept.set(mapKey(key), { key, row });
    return found;
  }
}
