import { HttpStatus, Injectable } from '@nestjs/common';
import { ApiError } from '@ordo/platform';
import { CoordinatorConfig } from '../config/coordinator.config';
import { DefinitionCatalog } from './definition-catalog';
import { BulkRetryDto, ListTransactionsQuery, ResolveStepDto, StartTransactionDto } from './dto/transaction-requests.dto';
import { EventView, TransactionPage, TransactionView } from './dto/transaction-views.dto';
import { checkInputSize } from './input-limit';
import { Cursor, TransactionRepository } from './persistence/transaction.repository';
import { TransactionEngine } from './transaction-engine';

function encodeCursor(view: TransactionView): string {
  return Buffer.from(JSON.stringify([view.createdAt, view.id])).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [string, string];
    const date = new Date(createdAt);
    if (Number.isNaN(date.getTime()) || !/^[0-9a-f-]{36}$/i.test(id)) throw new Error();
    return { createdAt: date, id };
  } catch {
    throw new ApiError(HttpStatus.BAD_REQUEST, 'INVALID_CURSOR', 'cursor is not one this API returned');
  }
}

/** The transactions API: starting, reading and operator actions. */
@Injectable()
export class TransactionsService {
  constructor(
    private readonly engine: TransactionEngine,
    private readonly repository: TransactionRepository,
    private readonly catalog: DefinitionCatalog,
    private readonly config: CoordinatorConfig,
  ) {}

  async start(body: StartTransactionDto, traceparent?: string) {
    checkInputSize(body.input, this.config.MAX_INPUT_BYTES);
    const definition = await this.catalog.get(body.definition, body.version);
    const { record, created } = await this.engine.start({
      definition,
      input: body.input,
      idempotencyKey: body.idempotencyKey ?? null,
      traceparent,
    });
    return { view: TransactionView.of(record), created };
  }

  async get(id: string): Promise<TransactionView> {
    const record = await this.repository.findById(id);
    if (!record) throw new ApiError(HttpStatus.NOT_FOUND, 'TRANSACTION_NOT_FOUND', `no transaction ${id}`);
    return TransactionView.of(record);
  }

  async list(query: ListTransactionsQuery): Promise<TransactionPage> {
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    // One extra row tells whether another page follows.
    const records = await this.repository.list(query, query.limit + 1, cursor);
    const items = records.slice(0, query.limit).map(TransactionView.of);
    return { items, nextCursor: records.length > query.limit ? encodeCursor(items[items.length - 1]) : null };
  }

  async events(id: string): Promise<EventView[]> {
    await this.get(id);
    return (await this.repository.events(id)).map(EventView.of);
  }

  async abort(id: string, actor: string, reason?: string) {
    return TransactionView.of(await this.engine.applyOperator(id, { type: 'abort', actor, reason }));
  }

  async retry(id: string, actor: string) {
    return TransactionView.of(await this.engine.applyOperator(id, { type: 'retry', actor }));
  }

  async resolve(id: string, stepId: string, body: ResolveStepDto, actor: string) {
    return TransactionView.of(
      await this.engine.applyOperator(id, { type: 'resolve', actor, stepId, outcome: body.outcome, note: body.note }),
    );
  }

  /** Replays failed transactions matching the filter, oldest first; returns how many. */
  async bulkRetry(filter: BulkRetryDto, actor: string): Promise<number> {
    const ids = await this.repository.idsMatching({ ...filter, status: 'failed' }, filter.limit);
    let retried = 0;
    for (const id of ids) {
      // One that left `failed` meanwhile (another operator) is refused and not counted.
      retried += await this.engine.applyOperator(id, { type: 'retry', actor }).then(
        () => 1,
        (error: unknown) => {
          if (error instanceof ApiError && error.getStatus() === HttpStatus.CONFLICT) return 0;
          throw error;
        },
      );
    }
    return retried;
  }
}
