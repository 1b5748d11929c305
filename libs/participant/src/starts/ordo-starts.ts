import { Injectable } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { EntityManager } from 'typeorm';
import { activeTraceparent } from '@ordo/platform';
import { JsonObject } from '@ordo/protocol';
import { StartCommitSubscriber } from './start-commit.subscriber';

/** The longest idempotency key the coordinator takes. */
const MAX_IDEMPOTENCY_KEY_LENGTH = 200;

/** A transaction to start, as `POST /api/v1/transactions` takes it. */
export interface StartRequest {
  /** Name of a registered definition. */
  definition: string;
  /** The definition version to run; the latest when the start is delivered, when omitted. */
  version?: number;
  input: JsonObject;
  /**
   * Starts written with one key start one transaction, however often they are written or
   * delivered. Defaults to the start's own id: one transaction per startWithin call.
   */
  idempotencyKey?: string;
}

/**
 * Starts Ordo transactions from the service's own database transactions (the caller's
 * transactional outbox): the start commits or rolls back with the service's own rows, and
 * a committed start reaches the coordinator exactly once (see StartRelay). Needs
 * OrdoStartsModule and the OrdoStarts migration.
 */
@Injectable()
export class OrdoStarts {
  constructor(private readonly commits: StartCommitSubscriber) {}

  /**
   * Records `request` in ordo_starts within the transaction `manager` runs (the
   * EntityManager that `dataSource.transaction(...)` hands over); it is delivered after that
   * transaction commits. Returns the start's id — the start already recorded when
   * `idempotencyKey` was used before. The transaction id is known only once the start is
   * delivered (ordo_starts.tx_id).
   */
  async startWithin(manager: EntityManager, request: StartRequest): Promise<string> {
    const runner = manager.queryRunner;
    if (!runner?.isTransactionActive) {
      throw new Error('startWithin needs the EntityManager of a running transaction: call it inside dataSource.transaction(manager => …)');
    }
    if (request.idempotencyKey !== undefined && (request.idempotencyKey.length === 0 || request.idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
      throw new RangeError(`idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
    }
    const id = randomUUID();
    const key = request.idempotencyKey ?? id;
    const [inserted]: { id: string }[] = await manager.query(
      `INSERT INTO ordo_starts (id, idempotency_key, definition, version, input, traceparent) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
      // The caller's trace goes with the start, so the transaction's spans join it.
      [id, key, request.definition, request.version ?? null, request.input, activeTraceparent() ?? null],
    );
    this.commits.wroteStart(runner);
    if (inserted) return inserted.id;
    // A separate statement: in READ COMMITTED it sees the row of the transaction the insert waited for.
    const [existing]: { id: string }[] = await manager.query('SELECT id FROM ordo_starts WHERE idempotency_key = $1', [key]);
    return existing.id;
  }
}
