import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { OutgoingMessage } from '@ordo/platform';

export const OUTBOX_CHANNEL = 'ordo_outbox';

/**
 * Adds messages to the outbox inside the caller's transaction: they become visible to
 * the relay exactly when, and only if, the state change that caused them commits.
 */
@Injectable()
export class OutboxWriter {
  async enqueue(manager: EntityManager, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await manager.query(
      `INSERT INTO outbox (topic, key, payload, headers)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])`,
      [
        messages.map((m) => m.topic),
        messages.map((m) => m.key),
        messages.map((m) => m.value),
        messages.map((m) => JSON.stringify(m.headers ?? {})),
      ],
    );
    // Delivered at commit; wakes the relays of every instance.
    await manager.query(`SELECT pg_notify('${OUTBOX_CHANNEL}', '')`);
  }
}
