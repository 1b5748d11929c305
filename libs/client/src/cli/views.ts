import { BulkRun, DefinitionList, DefinitionVersion, EventPage, Participant, Transaction, TransactionPage } from '../ordo-client';
import { fields, table } from './table';

/** How each answer reads in a terminal; `--json` prints the API's JSON instead. */
export const views = {
  transaction: (tx: Transaction): string =>
    fields([
      ['id', tx.id],
      ['definition', `${tx.definition.name} v${tx.definition.version}`],
      ['type', tx.type],
      ['status', tx.status],
      ...(tx.paused ? [['paused', pausedBy(tx.paused)] as [string, string]] : []),
      ['started', `${tx.createdAt}${tx.startedBy ? ` by ${tx.startedBy}` : ''}`],
      ['updated', tx.updatedAt],
      ...(tx.decision ? [['decision', tx.decision] as [string, string]] : []),
      ...(tx.tags && Object.keys(tx.tags).length > 0
        ? [['tags', Object.entries(tx.tags).map(([key, value]) => `${key}=${value}`).join(', ')] as [string, string]]
        : []),
    ]) +
    '\n' +
    table(
      ['step', 'participant', 'status', 'phase', 'attempt', 'error'],
      tx.steps.map((s) => [s.id, s.participant, s.status, s.phase, s.attempt, s.lastError ? `${s.lastError.code}: ${s.lastError.message}` : null]),
    ),

  bulk: (run: BulkRun): string =>
    fields([
      ['id', run.id],
      ['action', `${run.action}${typeof run.params.stepId === 'string' ? ` ${run.params.stepId}` : ''}`],
      ['status', run.status],
      ['progress', `${run.processed} / ${run.matched} gone through, ${run.applied} applied`],
      ['started', `${run.createdAt} by ${run.actor}`],
    ]),

  participants: (items: Participant[]): string =>
    table(
      ['participant', 'circuit', 'in flight', 'failure ratio', 'paused'],
      items.map((p) => [p.participant, p.circuit, p.inFlight, p.failureRatio, p.paused ? `since ${p.paused.since} by ${p.paused.by}` : null]),
    ),

  transactions: (page: TransactionPage): string =>
    table(
      ['id', 'definition', 'status', 'created', 'started by'],
      page.items.map((tx) => [tx.id, `${tx.definition.name} v${tx.definition.version}`, tx.status, tx.createdAt, tx.startedBy]),
    ) + more(page.nextCursor),

  events: (page: EventPage): string =>
    table(
      ['at', 'type', 'step', 'actor', 'detail'],
      page.items.map((e) => [e.at, e.type, e.stepId, e.actor, detail(e.data)]),
    ) + more(page.nextCursor),

  definitions: (list: DefinitionList): string =>
    table(
      ['name', 'type', 'latest', 'versions', 'registered', 'by'],
      list.items.map((d) => [d.name, d.type, `v${d.latestVersion}`, d.versions, d.createdAt, d.registeredBy]),
    ) + more(list.nextCursor),

  definition: (stored: DefinitionVersion): string =>
    fields([
      ['name', stored.name],
      ['version', stored.version],
      ['type', stored.type],
      ['registered', `${stored.createdAt}${stored.registeredBy ? ` by ${stored.registeredBy}` : ''}`],
      ['timeout', stored.definition.timeoutMs === undefined ? null : `${stored.definition.timeoutMs} ms`],
    ]) +
    '\n' +
    table(
      ['step', 'participant', 'action', 'compensation', 'depends on'],
      stored.definition.steps.map((s) => [s.id, s.participant, s.action, s.compensation, s.dependsOn?.join(', ')]),
    ),
};

/** Since when and by whom (an operator, or the paused participants it waits for). */
function pausedBy(paused: NonNullable<Transaction['paused']>): string {
  const by = [...(paused.actor ? [paused.actor] : []), ...paused.participants.map((p) => `participant ${p}`)];
  return `since ${paused.since} by ${by.join(', ')}`;
}

/** An event's data without what the other columns show, on one line. */
function detail(data: Record<string, unknown>): string {
  const { type: _type, stepId: _stepId, ...rest } = data;
  const text = JSON.stringify(rest);
  return text === '{}' ? '' : text.length > 100 ? `${text.slice(0, 99)}…` : text;
}

const more = (cursor: string | null | undefined) => (cursor ? `(more: --cursor ${cursor})\n` : '');
