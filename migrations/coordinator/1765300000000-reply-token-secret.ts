import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The secret the coordinator signs each command's reply token with (HMAC), made once per
 * database so that every instance signs and checks alike. 256 bits from the database's
 * random UUIDs (gen_random_uuid: a strong random source, built in since PostgreSQL 13).
 * Replacing the value rotates it: replies to commands sent before are then refused, and
 * their attempts time out and are sent again with new tokens.
 */
export class ReplyTokenSecret1765300000000 implements MigrationInterface {
  name = 'ReplyTokenSecret1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE TABLE coordinator_secrets (name text PRIMARY KEY, value text NOT NULL)');
    await q.query(`INSERT INTO coordinator_secrets (name, value)
      VALUES ('reply-token', encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE coordinator_secrets');
  }
}
