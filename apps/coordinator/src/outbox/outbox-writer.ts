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
    // The notification is delivered at commit and wakes the relays of every instance; sent
    // by the same statement, it costs no round trip of its own.
    await manager.query(
      `WITH queued AS (INSERT INTO outbox (topic, key, payload, headers)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) RETURNING 1)
       SELECT pg_notify('${OUTBOX_CHANNEL}', '') WHERE EXISTS (SELECT FROM queued)`,
      [
        messages.map((m) => m.topic),
        messages.map((m) => m.key),
        messages.map((m) => m.value),
        messages.map((m) => JSON.stringify(m.headers ?? {})),
      ],
    );
  }
}
