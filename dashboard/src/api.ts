/** The coordinator's REST API, as the dashboard uses it. Every call carries the user's key. */

export type TxStatus = 'running' | 'compensating' | 'completed' | 'compensated' | 'failed';
export const TX_STATUSES: TxStatus[] = ['running', 'compensating', 'completed', 'compensated', 'failed'];
export const TX_TYPES = ['saga', 'tcc', '2pc'] as const;
export type Role = 'viewer' | 'starter' | 'operator' | 'admin';

/** Whether the key may act on transactions (replay, abort, resolve): operators and admins. */
export const canRepair = (role: Role): boolean => role === 'operator' || role === 'admin';

export interface Principal { name: string; role: Role }
export interface Step {
  id: string; participant: string; status: string; phase: string; attempt: number; attemptsLeft: number;
  waitingFor: 'reply' | 'backoff' | 'hold' | null; dueAt: string | null; output: unknown; lastError: { code: string; message: string } | null;
}
export interface Transaction {
  id: string; definition: { name: string; version: number }; type: string; status: TxStatus; input: unknown;
  idempotencyKey: string | null; startedBy: string | null; deadline: string | null; createdAt: string; updatedAt: string; decision: string | null; steps: Step[];
  ignoredReplies: number; tags: Record<string, string>;
  paused: { since: string; actor: string | null; participants: string[] } | null;
}
export interface TxSummary { id: string; definition: { name: string; version: number }; type: string; status: TxStatus; createdAt: string; updatedAt: string }
export interface HistoryEntry { id: string; type: string; stepId: string | null; actor: string | null; at: string; data: Record<string, unknown> }
export interface StepDefinition { id: string; participant: string; action: string; compensation?: string; dependsOn?: string[] }
export interface StoredDefinition { name: string; version: number; type: string; createdAt: string; definition: { steps: StepDefinition[] } & Record<string, unknown> }
export interface DefinitionSummary { name: string; latestVersion: number; type: string; createdAt: string; registeredBy: string | null; versions: number }
export interface StatusCounts { counts: Record<TxStatus, number>; total: number }
export interface Overview {
  from: string; windowMinutes: number; started: StatusCounts; throughputPerMinute: number;
  rates: { completed: number; compensated: number; failed: number };
  perMinute: { minute: string; counts: Record<TxStatus, number> }[]; stuckMinutes: number; stuck: TxSummary[];
}
export interface ParticipantHealth {
  participant: string; circuit: string; inFlight: number; failureRatio: number;
  paused: { since: string; by: string; note: string | null } | null;
}
export const BULK_ACTIONS = ['retry', 'abort', 'pause', 'resume', 'retry_now', 'set_attempts', 'skip', 'fail_step'] as const;
export type BulkActionKind = (typeof BULK_ACTIONS)[number];
export interface BulkRun {
  id: string; action: BulkActionKind; params: Record<string, unknown>; filter: Record<string, unknown>; actor: string;
  status: 'running' | 'done'; matched: number; processed: number; applied: number; createdAt: string; updatedAt: string; finishedAt: string | null;
}
export interface Webhook { id: string; url: string; kinds: string[]; perMinute: number; createdBy: string; createdAt: string }
export interface WebhookTestResult { delivered: boolean; status: number | null; error: string | null }

const KEY = 'ordo.apiKey';
export const storedKey = () => sessionStorage.getItem(KEY);
export const storeKey = (key: string | null) => (key === null ? sessionStorage.removeItem(KEY) : sessionStorage.setItem(KEY, key));

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown, key = storedKey()): Promise<T> {
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key ?? ''}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = json?.error ?? {};
    throw new ApiError(response.status, error.code ?? 'HTTP_ERROR', error.message ?? `HTTP ${response.status}`);
  }
  return json as T;
}

/** `tag`: business keys as `key:value`, all of which must match. */
export type Filter = Partial<Record<'status' | 'definition' | 'type' | 'createdFrom' | 'createdTo' | 'paused', string> & { tag: string[] }>;
const query = (params: Record<string, string | string[] | number | undefined | null>) => {
  // An array is the repeated parameter (`tag=a&tag=b`).
  const entries = Object.entries(params).flatMap(([k, v]) => (Array.isArray(v) ? v.map((item) => [k, item]) : [[k, v]]));
  const set = entries.filter(([, v]) => v !== undefined && v !== null && v !== '') as [string, string | number][];
  return set.length ? `?${new URLSearchParams(set.map(([k, v]) => [k, String(v)]))}` : '';
};
const withoutStatus = ({ status: _status, ...rest }: Filter) => rest;

export const api = {
  me: (key: string) => call<Principal>('GET', '/auth/me', undefined, key),
  list: (filter: Filter, cursor: string | null, limit = 25) =>
    call<{ items: Transaction[]; nextCursor: string | null }>('GET', `/transactions${query({ ...filter, cursor, limit })}`),
  counts: (filter: Filter) => call<StatusCounts>('GET', `/transactions/counts${query(withoutStatus(filter))}`),
  get: (id: string) => call<Transaction>('GET', `/transactions/${encodeURIComponent(id)}`),
  events: (id: string, cursor: string | null, limit: number) =>
    call<{ items: HistoryEntry[]; nextCursor: string | null }>('GET', `/transactions/${encodeURIComponent(id)}/events${query({ cursor, limit })}`),
  abort: (id: string, reason?: string) => call<Transaction>('POST', `/transactions/${id}/abort`, reason ? { reason } : {}),
  retry: (id: string) => call<Transaction>('POST', `/transactions/${id}/retry`),
  bulkRetry: (filter: Filter) => call<{ retried: number }>('POST', '/transactions/retry', withoutStatus(filter)),
  resolve: (id: string, stepId: string, outcome: 'compensated' | 'succeeded', note: string) =>
    call<Transaction>('POST', `/transactions/${id}/steps/${encodeURIComponent(stepId)}/resolve`, { outcome, note }),
  pause: (id: string, note?: string) => call<Transaction>('POST', `/transactions/${id}/pause`, { note }),
  resume: (id: string, note?: string) => call<Transaction>('POST', `/transactions/${id}/resume`, { note }),
  /** With `dryRun`, the count; else the run started. */
  bulkAction: (request: Filter & { action: BulkActionKind; dryRun: boolean }) =>
    call<{ matched: number } & Partial<BulkRun>>('POST', '/bulk-actions', request),
  bulkActions: () => call<{ items: BulkRun[] }>('GET', '/bulk-actions'),
  stepAction: (id: string, stepId: string, action: 'retry-now' | 'attempts' | 'skip' | 'fail', body: object) =>
    call<Transaction>('POST', `/transactions/${id}/steps/${encodeURIComponent(stepId)}/${action}`, body),
  pauseParticipant: (participant: string, note?: string) => call('POST', `/participants/${encodeURIComponent(participant)}/pause`, { note }),
  resumeParticipant: (participant: string) =>
    call<{ resumed: number }>('POST', `/participants/${encodeURIComponent(participant)}/resume`, {}),
  definitions: () => call<{ items: DefinitionSummary[] }>('GET', '/definitions?limit=500'),
  definition: (name: string, version?: number) =>
    call<StoredDefinition>('GET', `/definitions/${encodeURIComponent(name)}${version ? `/versions/${version}` : ''}`),
  overview: (windowMinutes: number, stuckMinutes: number) => call<Overview>('GET', `/transactions/overview${query({ windowMinutes, stuckMinutes })}`),
  participants: () => call<{ items: ParticipantHealth[] }>('GET', '/participants'),
  webhooks: () => call<{ items: Webhook[] }>('GET', '/alerts/webhooks'),
  testWebhook: (id: string) => call<WebhookTestResult>('POST', `/alerts/webhooks/${encodeURIComponent(id)}/test`),
};

/**
 * Follows the server-sent change stream until `signal` aborts, reconnecting after a drop.
 * fetch, not EventSource: EventSource cannot send the Authorization header.
 */
export async function followChanges(onChanges: (changes: TxSummary[]) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const response = await fetch('/api/v1/transactions/stream', { headers: { authorization: `Bearer ${storedKey() ?? ''}` }, signal });
      if (!response.ok || !response.body) throw new Error(`stream: HTTP ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const data = buffer
            .slice(0, end)
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          buffer = buffer.slice(end + 2);
          if (data) onChanges((JSON.parse(data) as { changes: TxSummary[] }).changes);
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
