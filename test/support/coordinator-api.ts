import { sleep } from '../../tools/infra/proc';
import { bearer, TEST_KEYS } from './auth';

/** A response's status and error code, e.g. [409, 'DECISION_PENDING']. */
export const codeOf = (response: { status: number; body: unknown }) => [
  response.status,
  (response.body as { error?: { code: string } })?.error?.code,
];

/** A small client of the coordinator's REST API for e2e tests, authenticated with one role's test key (admin by default). */
export class CoordinatorApi {
  constructor(
    readonly baseUrl: string,
    readonly role: keyof typeof TEST_KEYS | null = 'admin',
  ) {}

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers: { ...(this.role ? bearer(this.role) : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  }

  async register(definition: object): Promise<void> {
    const { status, body } = await this.request('POST', '/definitions', definition);
    if (status !== 201 && status !== 200) throw new Error(`registering failed: ${status} ${JSON.stringify(body)}`);
  }

  async start(definition: string, input: object, idempotencyKey?: string): Promise<TxView> {
    const { status, body } = await this.request<TxView>('POST', '/transactions', { definition, input, idempotencyKey });
    if (status !== 201 && status !== 200) throw new Error(`start failed: ${status} ${JSON.stringify(body)}`);
    return body;
  }

  async get(id: string): Promise<TxView> {
    return (await this.request<TxView>('GET', `/transactions/${id}`)).body;
  }

  /** The whole history, page after page. */
  async events(id: string): Promise<EventView[]> {
    const events: EventView[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: EventPage } = await this.request<EventPage>(
        'GET',
        `/transactions/${id}/events?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      );
      if (page.status !== 200) throw new Error(`reading the history of ${id} failed: ${page.status} ${JSON.stringify(page.body)}`);
      events.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    return events;
  }

  /** Polls until the transaction reaches one of `statuses`. */
  async waitFor(id: string, statuses: string[], timeoutMs = 60_000): Promise<TxView> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const tx = await this.get(id);
      if (statuses.includes(tx.status)) return tx;
      if (Date.now() > until) throw new Error(`transaction ${id} is ${tx.status}, not ${statuses.join('/')}, after ${timeoutMs} ms`);
      await sleep(50);
    }
  }
}

export interface StepView {
  id: string;
  participant: string;
  status: string;
  phase: string;
  attempt: number;
  output: Record<string, unknown> | null;
  lastError: { code: string; message: string } | null;
}

export interface TxView {
  id: string;
  status: string;
  definition: { name: string; version: number };
  steps: StepView[];
  updatedAt: string;
  ignoredReplies: number;
}

export interface EventPage {
  items: EventView[];
  nextCursor: string | null;
}

export interface EventView {
  id: string;
  type: string;
  stepId: string | null;
  actor: string | null;
  at: string;
  data: Record<string, unknown>;
}

export const TERMINAL = ['completed', 'compensated', 'failed'];
