import {
  BulkRun,
  DefinitionDiff,
  DefinitionList,
  DefinitionVersion,
  DefinitionVersions,
  EventPage,
  Participant,
  PreparedWork,
  StepInput,
  Timeline,
  TimingStats,
  Transaction,
  TransactionPage,
} from '../ordo-client';
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
        ? [
            [
              'tags',
              Object.entries(tx.tags)
                .map(([key, value]) => `${key}=${value}`)
                .join(', '),
            ] as [string, string],
          ]
        : []),
    ]) +
    '\n' +
    table(
      ['step', 'participant', 'status', 'phase', 'attempt', 'error'],
      tx.steps.map((s) => [s.id, s.participant, s.status, s.phase, s.attempt, s.lastError ? `${s.lastError.code}: ${s.lastError.message}` : null]),
    ),

  stepInput: ({ input, edited }: StepInput): string =>
    `${JSON.stringify(input, null, 2)}\n(${edited ? 'edited by an operator' : 'mapped by its definition'})\n`,

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
      ['participant', 'circuit', 'in flight', 'failure ratio', 'adaptive timeout', 'paused'],
      items.map((p) => [
        p.participant,
        p.circuit,
        p.inFlight,
        p.failureRatio,
        p.adaptiveTimeouts.map(timeoutInForce).join('; ') || null,
        p.paused ? `since ${p.paused.since} by ${p.paused.by}` : null,
      ]),
    ),

  inDoubt: (items: PreparedWork[]): string =>
    table(
      ['participant', 'transaction', 'step', 'verdict', 'finish?', 'held', 'tables', 'waiting', 'finish asked by'],
      items.map((w) => [
        w.participant,
        w.txId,
        w.stepId,
        w.verdict,
        w.shouldBeFinished ? 'overdue' : 'no',
        `${Math.round(w.heldMs / 1000)} s`,
        w.relations.join(', '),
        w.waiters,
        w.finishRequestedBy,
      ]),
    ),

  stats: (stats: TimingStats): string => {
    const ms = (p: TimingStats['definitions'][number]['transactions']['durationMs']) => (p ? [p.p50, p.p95, p.p99, p.max] : [null, null, null, null]);
    const pct = (rate: number) => `${(rate * 100).toFixed(1)} %`;
    return table(
      ['definition / step', 'ended / ran', 'failure rate', 'retries', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      stats.definitions.flatMap((d) => [
        [d.name, d.transactions.ended, pct(d.transactions.failureRate), null, ...ms(d.transactions.durationMs)],
        ...d.steps.map((s) => [`  ${s.stepId} · ${s.phase}`, s.count, pct(s.failureRate), s.retries, ...ms(s.durationMs)]),
      ]),
    );
  },

  timeline: (timeline: Timeline): string =>
    table(
      ['step', 'phase', 'span', 'start', 'end', 'outcome'],
      timeline.rows.flatMap((r) =>
        r.spans.map((s) => [
          r.stepId,
          r.phase,
          s.attempt === undefined ? s.kind : `${s.kind} ${s.attempt}`,
          s.start,
          s.end,
          s.outcome ?? s.reason ?? null,
        ]),
      ),
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

  definitionWithVersions: ({ versions, ...stored }: DefinitionVersion & { versions: DefinitionVersions['items'] }): string =>
    views.definition(stored) +
    '\n' +
    table(
      ['version', 'registered', 'by', 'running'],
      versions.map((v) => [`v${v.version}`, v.createdAt, v.registeredBy, v.running]),
    ),

  definitionDiff: (diff: DefinitionDiff): string => {
    const line = (prefix: string, { path, kind, from, to }: DefinitionDiff['fields'][number]) =>
      `${prefix}${kind === 'added' ? '+' : kind === 'removed' ? '-' : '~'} ${path}: ${
        kind === 'added' ? json(to) : kind === 'removed' ? json(from) : `${json(from)} → ${json(to)}`
      }`;
    const lines = [
      `${diff.name} v${diff.from} → v${diff.to}`,
      ...diff.fields.map((field) => line('  ', field)),
      ...diff.steps.flatMap((step) => [
        `  ${step.kind === 'added' ? '+' : step.kind === 'removed' ? '-' : '~'} step ${step.id}`,
        ...step.fields.map((f) => line('      ', f)),
      ]),
      ...(diff.fields.length + diff.steps.length === 0 ? ['  (no difference)'] : []),
    ];
    return `${lines.join('\n')}\n`;
  },
};

const json = (value: unknown) => JSON.stringify(value);

/** `412 ms = 2 × p99 206 ms (200 replies)`; `5000 ms = max (12 replies)` while too few are known. */
function timeoutInForce(t: Participant['adaptiveTimeouts'][number]): string {
  const basis = t.percentileMs === null ? 'max' : `${t.factor} × p${t.percentile} ${t.percentileMs} ms`;
  return `${t.timeoutMs} ms = ${basis} (${t.samples} replies)`;
}

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
