import { MigrationInterface, QueryRunner } from 'typeorm';

/** Demo accounts for `npm start` (acc-ada pays for its sample order; acc-eve is broke). */
export class DemoAccounts1763800100000 implements MigrationInterface {
  name = 'DemoAccounts1763800100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      INSERT INTO accounts (id, owner, balance) VALUES
        ('acc-ada', 'Ada Lovelace', 100000),
        ('acc-bob', 'Bob Marley', 2500),
        ('acc-eve', 'Eve Moneypenny', 0)
      ON CONFLICT (id) DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM accounts WHERE id IN ('acc-ada', 'acc-bob', 'acc-eve')`);
  }
}
