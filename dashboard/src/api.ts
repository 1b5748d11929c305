/**
 * The coordinator's REST API, as the dashboard uses it. Every call carries the user's key. Its
 * shapes are the OpenAPI document's (the client package generates them from it), so they cannot drift.
 */
import type { components } from '../../libs/client/src/generated/openapi';

type Schemas = components['schemas'];

export type TxStatus = Schemas['TransactionView']['status'];
export const TX_STATUSES: TxStatus[] = ['running', 'compensating', 'completed', 'compensated', 'failed'];
export const TX_TYPES = ['saga', 'tcc', '2pc'] as const;
export type Role = Schemas['PrincipalView']['role'];

/** Whether the key may act on transactions (replay, abort, resolve): operators and admins. */
export const canRepair = (role: Role): boolean => role === 'operator' || role === 'admin';

export type Principal = Schemas['PrincipalView'];
export type Step = Schemas['StepView'];
export type Transaction = Schemas['TransactionView'];
export type TxSummary = Schemas['TransactionSummary'];
/** A history event; the fields of its data the timeline shows are typed. */
export type HistoryEntry = Omit<Schemas['EventView'], 'data'> & {
  data: Record<string, unknown> & { phase?: string; attempt?: number; outcome?: string; from?: string; to?: string };
};
export type StepDefinition = Schemas['StepDto'];
export type StoredDefinition = Schemas['DefinitionVersionDto'];
export type DefinitionSummary = Schemas['DefinitionSummaryDto'];
export type VersionUsage = Schemas['DefinitionVersionUsageDto'];
export type FieldChange = Schemas['FieldChangeDto'];
export type DefinitionDiff = Schemas['DefinitionDiffDto'];
export type StatusCounts = Schemas['StatusCounts'];
export const OUTCOMES = ['completed', 'compensated', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** Ended since `from`, by outcome, from the timing rollup in buckets `bucketSeconds` wide; plus what is in flight now. */
export type Overview = Schemas['Overview'];
/** An adaptive step timeout in force for a participant, on the instance that answered. */
export type AdaptiveTimeoutInForce = Schemas['AdaptiveTimeoutView'];
export type TimelineSpan = Schemas['TimelineSpanView'];
export type Timeline = Schemas['TimelineView'];
export type Percentiles = Schemas['LatencyPercentiles'];
export type StepTimings = Schemas['StepTimings'];
export type DefinitionTimings = Schemas['DefinitionTimings'];
export type TimingStats = Schemas['TimingStats'];
export type ParticipantHealth = Schemas['ParticipantView'];
export const BULK_ACTIONS = ['retry', 'abort', 'pause', 'resume', 'retry_now', 'set_attempts', 'skip', 'fail_step'] as const;
export type BulkActionKind = (typeof BULK_ACTIONS)[number];
export type BulkRun = Schemas['BulkActionView'];
export type PreparedWork = Schemas['InDoubtView'];
export type Webhook = Schemas['WebhookView'];
export type WebhookTestResult = Schemas['WebhookTestResult'];

const KEY = 'ordo.apiKey';
export const storedKey = () => sessionStorage.getItem(KEY);
export const storeKey = (key: string | null) => (key === null ? sessionStorage.removeItem(KEY) : sessionStorage.setItem(KEY, key));

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
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
  const json: unknown = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error ?? {};
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
  timeline: (id: string) => call<Timeline>('GET', `/transactions/${encodeURIComponent(id)}/timeline`),
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
  stepInput: (id: string, stepId: string) =>
    call<{ input: Record<string, unknown>; edited: boolean }>('GET', `/transactions/${id}/steps/${encodeURIComponent(stepId)}/input`),
  stepAction: (id: string, stepId: string, action: 'retry-now' | 'attempts' | 'edit-and-retry' | 'skip' | 'fail', body: object) =>
    call<Transaction>('POST', `/transactions/${id}/steps/${encodeURIComponent(stepId)}/${action}`, body),
  pauseParticipant: (participant: string, note?: string) => call('POST', `/participants/${encodeURIComponent(participant)}/pause`, { note }),
  resumeParticipant: (participant: string) => call<{ resumed: number }>('POST', `/participants/${encodeURIComponent(participant)}/resume`, {}),
  definitions: () => call<{ items: DefinitionSummary[] }>('GET', '/definitions?limit=500'),
  definition: (name: string, version?: number) =>
    call<StoredDefinition>('GET', `/definitions/${encodeURIComponent(name)}${version ? `/versions/${version}` : ''}`),
  definitionVersions: (name: string) => call<{ items: VersionUsage[] }>('GET', `/definitions/${encodeURIComponent(name)}/versions`),
  definitionDiff: (name: string, from: number, to: number) =>
    call<DefinitionDiff>('GET', `/definitions/${encodeURIComponent(name)}/diff${query({ from, to })}`),
  overview: (windowMinutes: number, stuckMinutes: number) => call<Overview>('GET', `/transactions/overview${query({ windowMinutes, stuckMinutes })}`),
  timingStats: (windowMinutes: number) => call<TimingStats>('GET', `/stats/definitions${query({ windowMinutes })}`),
  participants: () => call<{ items: ParticipantHealth[] }>('GET', '/participants'),
  inDoubt: () => call<{ items: PreparedWork[] }>('GET', '/in-doubt'),
  finishPrepared: (w: PreparedWork, note?: string) =>
    call<PreparedWork>('POST', `/in-doubt/${[w.participant, w.txId, w.stepId].map(encodeURIComponent).join('/')}/finish`, { note }),
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
