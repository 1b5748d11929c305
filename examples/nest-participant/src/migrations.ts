import { OrdoBarrier1763700000000 } from '@ordo/participant';
import { MigrationInterface, QueryRunner } from 'typeorm';

export class Shipments1800000000000 implements MigrationInterface {
  name = 'Shipments1800000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE shipments (
      tx_id uuid PRIMARY KEY,
      parcel text NOT NULL,
      status text NOT NULL CHECK (status IN ('booked', 'labelled', 'cancelled')),
      updated_at timestamptz NOT NULL DEFAULT now())`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE shipments');
  }
}

/** The SDK's barrier table first, then the service's own tables. */
export const migrations = [OrdoBarrier1763700000000, Shipments1800000000000];
