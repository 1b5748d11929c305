import createClient, { Client } from 'openapi-fetch';
import { OrdoApiError } from './errors';
import { components, paths } from './generated/openapi';

type Schemas = components['schemas'];
export type Definition = Schemas['DefinitionDto'];
export type DefinitionVersion = Schemas['DefinitionVersionDto'];
export type DefinitionList = Schemas['DefinitionListDto'];
export type StartRequest = Schemas['StartTransactionDto'];
export type Transaction = Schemas['TransactionView'];
export type TransactionStatus = Transaction['status'];
export type TransactionPage = Schemas['TransactionPage'];
export type TransactionEvent = Schemas['EventView'];
export type EventPage = Schemas['EventPage'];
export type StatusCounts = Schemas['StatusCounts'];
export type Overview = Schemas['Overview'];
export type Participant = Schemas['ParticipantView'];
export type PreparedWork = Schemas['InDoubtView'];
export type Timeline = Schemas['TimelineView'];
export type TimingStats = Schemas['TimingStats'];
export type ResolveRequest = Schemas['ResolveStepDto'];
export type DefinitionDiff = Schemas['DefinitionDiffDto'];
export type DefinitionVersions = Schemas['DefinitionVersionsDto'];
export type StepInput = Schemas['StepInputView'];
export type EditInputRequest = Schemas['EditInputDto'];
/** A bulk action's filter (the list's), its `limit` and an optional `note`. */
export type BulkFilter = Schemas['BulkNoteDto'];
export type BulkRequest = Omit<Schemas['BulkActionRequest'], 'dryRun'>;
export type BulkRun = Schemas['BulkActionView'];
type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;
export type ListTransactionsQuery = QueryOf<'/api/v1/transactions'>;
export type TransactionFilter = QueryOf<'/api/v1/transactions/counts'>;
export type EventsQuery = QueryOf<'/api/v1/transactions/{id}/events'>;
export type ListDefinitionsQuery = QueryOf<'/api/v1/definitions'>;

/** The statuses a transaction ends in; it changes no more once in one. */
export const TERMINAL_STATUSES: readonly TransactionStatus[] = ['completed', 'compensated', 'failed'];
export const isTerminal = (status: TransactionStatus): boolean => TERMINAL_STATUSES.includes(status);

/**
 * The longest one request waits: under the coordinator's default WAIT_MAX_MS (30 s) and the
 * idle timeouts of common proxies. Longer waits are a chain of such long polls.
 */
export const LONG_POLL_MS = 20_000;

export interface WaitOptions {
  /** Wait up to this many milliseconds for the transaction to end (completed, compensated or failed). */
  waitMs?: number;
}

export interface OrdoClientOptions {
  /** The coordinator's base URL, e.g. http://localhost:3000. */
  url: string;
  /** An API key's secret, sent as `Authorization: Bearer …`. */
  apiKey?: string;
  /** A fetch implementation (tests, proxies); the global one by default. */
  fetch?: typeof fetch;
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * A typed client of the coordinator's REST API. Its types are generated from the OpenAPI
 * document the coordinator serves, so a field the API does not have does not compile.
 * Every method throws OrdoApiError when the API answers with an error or cannot be reached;
 * `api` is the underlying typed client for anything not wrapped here.
 */
export class OrdoClient {
  readonly api: Client<paths>;

  constructor(options: OrdoClientOptions) {
    this.api = createClient<paths>({
      baseUrl: options.url.replace(/\/+$/, ''),
      headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
      fetch: options.fetch,
    });
  }

  /** Registers a definition as its next version; `created` is false when it equals the latest one. */
  async applyDefinition(definition: Definition): Promise<{ definition: DefinitionVersion; created: boolean }> {
    const answer = await call(this.api.POST('/api/v1/definitions', { body: definition }));
    return { definition: body(answer), created: answer.response.status === 201 };
  }

  async listDefinitions(query: ListDefinitionsQuery = {}): Promise<DefinitionList> {
    return body(await call(this.api.GET('/api/v1/definitions', { params: { query } })));
  }

  /** A definition's latest version, or the one asked for. */
  async getDefinition(name: string, version?: number): Promise<DefinitionVersion> {
    return body(
      await call(
        version === undefined
          ? this.api.GET('/api/v1/definitions/{name}', { params: { path: { name } } })
          : this.api.GET('/api/v1/definitions/{name}/versions/{version}', { params: { path: { name, version } } }),
      ),
    );
  }

  /** Every version of a definition, newest first, with how many transactions run it now. */
  async definitionVersions(name: string): Promise<DefinitionVersions> {
    return body(await call(this.api.GET('/api/v1/definitions/{name}/versions', { params: { path: { name } } })));
  }

  /** What changed from version `from` to version `to`: steps by id, field by field. */
  async diffDefinition(name: string, from: number, to: number): Promise<DefinitionDiff> {
    return body(await call(this.api.GET('/api/v1/definitions/{name}/diff', { params: { path: { name }, query: { from, to } } })));
  }

  /**
   * Starts a transaction; with `waitMs`, answers once it has ended or the time is up (check
   * `isTerminal(transaction.status)`). `created` is false when an earlier start with this API
   * key and idempotency key is returned, and undefined when the coordinator did not say (a
   * wait that ran out first).
   */
  async startTransaction(request: StartRequest, { waitMs = 0 }: WaitOptions = {}): Promise<{ transaction: Transaction; created?: boolean }> {
    const until = Date.now() + waitMs;
    const answer = await call(this.api.POST('/api/v1/transactions', { body: request, params: { query: { waitMs: pollMs(waitMs) } } }));
    const status = answer.response.status;
    const created = status === 202 ? undefined : status === 201;
    const transaction = body(answer);
    if (isTerminal(transaction.status) || Date.now() >= until) return { transaction, created };
    return { transaction: await this.waitUntil(transaction.id, until), created };
  }

  /** A transaction; with `waitMs`, once it has ended or the time is up (long polls, no busy polling). */
  async getTransaction(id: string, { waitMs = 0 }: WaitOptions = {}): Promise<Transaction> {
    return this.waitUntil(id, Date.now() + waitMs);
  }

  private async waitUntil(id: string, until: number): Promise<Transaction> {
    for (;;) {
      const transaction = body(
        await call(this.api.GET('/api/v1/transactions/{id}', { params: { path: { id }, query: { waitMs: pollMs(until - Date.now()) } } })),
      );
      if (isTerminal(transaction.status) || Date.now() >= until) return transaction;
    }
  }

  /** Newest first; pass `nextCursor` back as `cursor` for the next page. */
  async listTransactions(query: ListTransactionsQuery = {}): Promise<TransactionPage> {
    return body(await call(this.api.GET('/api/v1/transactions', { params: { query } })));
  }

  /** A 2PC transaction's decision, what an in-doubt participant must apply (all a `participant` key may read). */
  async decision(id: string): Promise<Schemas['DecisionView']> {
    return body(await call(this.api.GET('/api/v1/transactions/{id}/decision', { params: { path: { id } } })));
  }

  /** A page of a transaction's history, oldest first. */
  async events(id: string, query: EventsQuery = {}): Promise<EventPage> {
    return body(await call(this.api.GET('/api/v1/transactions/{id}/events', { params: { path: { id }, query } })));
  }

  /** Replays a failed transaction's compensations. */
  async retry(id: string): Promise<Transaction> {
    return body(await call(this.api.POST('/api/v1/transactions/{id}/retry', { params: { path: { id } } })));
  }

  /** Replays every failed transaction matching the filter; answers how many. */
  async retryFailed(filter: Schemas['BulkRetryDto'] = {}): Promise<number> {
    return body(await call(this.api.POST('/api/v1/transactions/retry', { body: filter }))).retried;
  }

  /** Rolls a running transaction back. */
  async abort(id: string, reason?: string): Promise<Transaction> {
    return body(await call(this.api.POST('/api/v1/transactions/{id}/abort', { params: { path: { id } }, body: { reason } })));
  }

  /** Records what an operator made true by hand for a step that cannot finish on its own. */
  async resolveStep(id: string, stepId: string, resolution: ResolveRequest): Promise<Transaction> {
    return body(
      await call(this.api.POST('/api/v1/transactions/{id}/steps/{stepId}/resolve', { params: { path: { id, stepId } }, body: resolution })),
    );
  }

  /** Pauses a running transaction: it sends nothing and none of its timers runs until resumed. */
  async pause(id: string, note?: string): Promise<Transaction> {
    return body(await call(this.api.POST('/api/v1/transactions/{id}/pause', { params: { path: { id } }, body: { note } })));
  }

  /** Resumes a paused transaction: its timers move on by the time it was paused. */
  async resume(id: string, note?: string): Promise<Transaction> {
    return body(await call(this.api.POST('/api/v1/transactions/{id}/resume', { params: { path: { id } }, body: { note } })));
  }

  /** Pauses every running transaction matching the filter; answers how many. */
  async pauseMatching(filter: BulkFilter = {}): Promise<number> {
    return body(await call(this.api.POST('/api/v1/transactions/pause', { body: filter }))).paused;
  }

  /** Resumes every paused transaction matching the filter; answers how many. */
  async resumeMatching(filter: BulkFilter = {}): Promise<number> {
    return body(await call(this.api.POST('/api/v1/transactions/resume', { body: filter }))).resumed;
  }

  /** Sends a step's scheduled retry now. */
  async retryStepNow(id: string, stepId: string, note?: string): Promise<Transaction> {
    return body(
      await call(this.api.POST('/api/v1/transactions/{id}/steps/{stepId}/retry-now', { params: { path: { id, stepId } }, body: { note } })),
    );
  }

  /** Sets how many more attempts a step may use in its current phase. */
  async setStepAttempts(id: string, stepId: string, request: Schemas['SetAttemptsDto']): Promise<Transaction> {
    return body(await call(this.api.POST('/api/v1/transactions/{id}/steps/{stepId}/attempts', { params: { path: { id, stepId } }, body: request })));
  }

  /** Counts a saga step as succeeded with this output, so that its dependents run. */
  async skipStep(id: string, stepId: string, request: Schemas['SkipStepDto']): Promise<Transaction> {
    return body(await call(this.api.POST('/api/v1/transactions/{id}/steps/{stepId}/skip', { params: { path: { id, stepId } }, body: request })));
  }

  /** The input a step's next command carries: an operator's edit, or the one its definition maps. */
  async stepInput(id: string, stepId: string): Promise<StepInput> {
    return body(await call(this.api.GET('/api/v1/transactions/{id}/steps/{stepId}/input', { params: { path: { id, stepId } } })));
  }

  /** Edit and retry: the step's commands carry this input from now on, and its next attempt goes out at once. */
  async editStepInput(id: string, stepId: string, request: EditInputRequest): Promise<Transaction> {
    return body(
      await call(this.api.POST('/api/v1/transactions/{id}/steps/{stepId}/edit-and-retry', { params: { path: { id, stepId } }, body: request })),
    );
  }

  /** Fails a step that has not answered its first phase yet: the rollback starts. */
  async failStep(id: string, stepId: string, note: string): Promise<Transaction> {
    return body(await call(this.api.POST('/api/v1/transactions/{id}/steps/{stepId}/fail', { params: { path: { id, stepId } }, body: { note } })));
  }

  /** Pauses a participant: every command to it is held until it is resumed. */
  async pauseParticipant(participant: string, note?: string): Promise<Schemas['ParticipantPauseView']> {
    return body(await call(this.api.POST('/api/v1/participants/{participant}/pause', { params: { path: { participant } }, body: { note } })));
  }

  /** Resumes a paused participant and the transactions that waited for it; answers how many of those. */
  async resumeParticipant(participant: string, note?: string): Promise<number> {
    return body(await call(this.api.POST('/api/v1/participants/{participant}/resume', { params: { path: { participant } }, body: { note } })))
      .resumed;
  }

  /** How many transactions a bulk action would go through (a dry run). */
  async countBulk(request: BulkRequest): Promise<number> {
    const count: Schemas['BulkActionCount'] = body(await call(this.api.POST('/api/v1/bulk-actions', { body: { ...request, dryRun: true } })));
    return count.matched;
  }

  /** Starts a bulk action; its progress: `bulkAction(id)`. */
  async startBulk(request: BulkRequest): Promise<BulkRun> {
    return body(await call(this.api.POST('/api/v1/bulk-actions', { body: { ...request, dryRun: false } }))) as BulkRun;
  }

  /** A bulk action and its progress. */
  async bulkAction(id: string): Promise<BulkRun> {
    return body(await call(this.api.GET('/api/v1/bulk-actions/{id}', { params: { path: { id } } })));
  }

  async counts(filter: TransactionFilter = {}): Promise<StatusCounts> {
    return body(await call(this.api.GET('/api/v1/transactions/counts', { params: { query: filter } })));
  }

  async overview(query: QueryOf<'/api/v1/transactions/overview'> = {}): Promise<Overview> {
    return body(await call(this.api.GET('/api/v1/transactions/overview', { params: { query } })));
  }

  /** The transaction's waterfall: per step phase, its attempts, backoffs and holds. */
  async timeline(id: string): Promise<Timeline> {
    return body(await call(this.api.GET('/api/v1/transactions/{id}/timeline', { params: { path: { id } } })));
  }

  /** Per definition and step phase: p50/p95/p99 durations and failure rates of the transactions that ended in the window. */
  async timingStats(query: QueryOf<'/api/v1/stats/definitions'> = {}): Promise<TimingStats> {
    return body(await call(this.api.GET('/api/v1/stats/definitions', { params: { query } })));
  }

  async participants(): Promise<Participant[]> {
    return body(await call(this.api.GET('/api/v1/participants'))).items;
  }

  /** The prepared transactions (2PC) participants hold, with the coordinator's verdict on each. */
  async inDoubt(): Promise<PreparedWork[]> {
    return body(await call(this.api.GET('/api/v1/in-doubt'))).items;
  }

  /** Asks the participant to finish a prepared transaction now by its decision (on its next report). */
  async finishPrepared(participant: string, txId: string, stepId: string, note?: string): Promise<PreparedWork> {
    const path = { participant, txId, stepId };
    return body(await call(this.api.POST('/api/v1/in-doubt/{participant}/{txId}/{stepId}/finish', { params: { path }, body: { note } })));
  }

  /** The name and role of the key this client uses. */
  async me(): Promise<Schemas['PrincipalView']> {
    return body(await call(this.api.GET('/api/v1/auth/me')));
  }
}

/** What the next long poll asks for: the time left, at most LONG_POLL_MS; undefined for none. */
function pollMs(leftMs: number): number | undefined {
  return leftMs > 0 ? Math.min(leftMs, LONG_POLL_MS) : undefined;
}

/** Awaits a request, turning an unreachable coordinator and an error answer into OrdoApiError. */
async function call<T>(request: Promise<Answer<T>>): Promise<Answer<T>> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch (error) {
    const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new OrdoApiError(0, 'UNREACHABLE', `the coordinator could not be reached: ${cause}`);
  }
  if (answer.error !== undefined || !answer.response.ok) throw OrdoApiError.of(answer.response.status, answer.error);
  return answer;
}

function body<T>(answer: Answer<T>): T {
  return answer.data as T;
}
