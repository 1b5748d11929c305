import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A 2PC transaction's global decision (commit / abort). It is written in the same
 * database transaction as the first commit commands, so it is durable before any leaves.
 */
export class TransactionDecision1763700300000 implements MigrationInterface {
  name = 'TransactionDecision1763700300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE transactions ADD COLUMN decision text');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE transactions DROP COLUMN decision');
  }
}
