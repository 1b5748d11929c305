import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Commands awaiting a reply, by participant: the in-flight bound counts these before
 * letting more through. Partial, so it holds only the live commands however many steps
 * have finished.
 */
export class StepsInFlight1763700200000 implements MigrationInterface {
  name = 'StepsInFlight1763700200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX steps_awaiting_reply ON steps (participant) WHERE waiting_for = 'reply'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX steps_awaiting_reply');
  }
}
