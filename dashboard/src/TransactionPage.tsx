import { useEffect, useRef, useState } from 'react';
import { api, canRepair, followChanges, HistoryEntry, Principal, Step, StoredDefinition, Timeline, Transaction } from './api';
import { Waterfall } from './Waterfall';
import { Dag } from './Dag';
import { href } from './router';
import { Badge, clock, ConfirmDialog, ErrorNote, Json, when } from './ui';

type StepActionKind = 'retry-now' | 'attempts' | 'edit' | 'skip' | 'fail';
type Action =
  | { kind: 'retry' }
  | { kind: 'abort' }
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'resolve'; step: Step }
  | { kind: StepActionKind; step: Step };

/** Steps an operator may resolve by hand: stuck in a phase that must eventually succeed, or still open. */
const RESOLVABLE = new Set(['compensation_failed', 'failed', 'running', 'compensating']);
const FORWARD_PHASES = new Set(['execute', 'try', 'prepare']);
/** Phases whose input an operator may edit: a saga's compensation carries its execute's (edited) input. */
const EDITABLE_PHASES: Record<string, string[]> = { saga: ['execute', 'compensate'], tcc: ['try'], '2pc': ['prepare'] };

/** The step actions the coordinator may accept now (it has the last word). */
function stepActions(tx: Transaction, step: Step): StepActionKind[] {
  const pending = FORWARD_PHASES.has(step.phase) && (step.status === 'pending' || (step.status === 'running' && step.waitingFor !== null));
  const forward = tx.status === 'running' && pending;
  const scheduled = (step.waitingFor === 'backoff' || step.waitingFor === 'hold') && !tx.paused;
  const stuck = tx.status === 'failed' && (step.status === 'failed' || step.status === 'compensation_failed');
  const editable = (scheduled || stuck) && (EDITABLE_PHASES[tx.type] ?? []).includes(step.phase);
  return [
    ...(scheduled ? ['retry-now' as const] : []),
    ...(step.waitingFor !== null ? ['attempts' as const] : []),
    ...(editable ? ['edit' as const] : []),
    ...(forward && tx.type === 'saga' ? ['skip' as const] : []),
    ...(forward ? ['fail' as const] : []),
  ];
}

const STEP_ACTION_LABELS: Record<StepActionKind, (id: string) => string> = {
  'retry-now': (id) => `Retry ${id} now…`,
  attempts: (id) => `Attempts of ${id}…`,
  edit: (id) => `Edit input of ${id} and retry…`,
  skip: (id) => `Skip ${id}…`,
  fail: (id) => `Fail ${id}…`,
};

/** A dialog's JSON object (skip's output, an edited input): null when left empty; undefined when it is not one. */
function parseObject(text: string): Record<string, unknown> | null | undefined {
  if (!text.trim()) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A history field as text: a status as it is, anything else (a count, an edited input) as JSON. */
const asText = (value: unknown): string => (typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value));
const isError = (value: unknown): value is { code: string; message: string } =>
  typeof value === 'object' && value !== null && 'code' in value && 'message' in value;

/** Milliseconds from the dispatch of the same step, phase and attempt to this reply or timeout. */
function durations(events: HistoryEntry[]): Map<string, number> {
  const sent = new Map<string, number>();
  const result = new Map<string, number>();
  for (const e of events) {
    const key = `${e.stepId}/${String(e.data.phase)}/${String(e.data.attempt)}`;
    if (e.type === 'step.dispatched') sent.set(key, Date.parse(e.at));
    else if ((e.type === 'step.replied' || e.type === 'step.timed_out') && sent.has(key)) result.set(e.id, Date.parse(e.at) - sent.get(key)!);
  }
  return result;
}

/** History entries read per request. */
const HISTORY_PAGE = 200;

/** The history from its start, page after page, until it holds at least `atLeast` entries or ends. */
async function readHistory(id: string, atLeast: number): Promise<{ items: HistoryEntry[]; nextCursor: string | null }> {
  const items: HistoryEntry[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: HistoryEntry[]; nextCursor: string | null } = await api.events(id, cursor, HISTORY_PAGE);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < atLeast);
  return { items, nextCursor: cursor };
}

/** One transaction: its DAG colored by step state, its steps, its history, and the operator actions. */
export function TransactionPage({ id, me }: { id: string; me: Principal }) {
  const [tx, setTx] = useState<Transaction | null>(null);
  const [events, setEvents] = useState<HistoryEntry[]>([]);
  const [timeline, setTimeline] = useState<Timeline | null>(null);
  const [moreHistory, setMoreHistory] = useState<string | null>(null);
  // How many entries are shown, so that a live reload keeps the pages already opened.
  const shown = useRef(0);
  const [definition, setDefinition] = useState<StoredDefinition | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [action, setAction] = useState<Action | null>(null);
  const [reason, setReason] = useState('');
  const [note, setNote] = useState('');
  const [outcome, setOutcome] = useState<'compensated' | 'succeeded'>('compensated');
  const [attemptsLeft, setAttemptsLeft] = useState('1');
  const [output, setOutput] = useState('');

  const load = useRef<() => Promise<void>>(() => Promise.resolve());
  load.current = async () => {
    try {
      const [t, history, waterfall] = await Promise.all([api.get(id), readHistory(id, shown.current), api.timeline(id)]);
      setTx(t);
      setTimeline(waterfall);
      setEvents(history.items);
      setMoreHistory(history.nextCursor);
      shown.current = history.items.length;
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    shown.current = 0;
    void load.current();
    const controller = new AbortController();
    void followChanges((changes) => changes.some((c) => c.id === id) && void load.current(), controller.signal);
    return () => controller.abort();
  }, [id]);
  const pinned = tx ? `${tx.definition.name}@${tx.definition.version}` : null;
  useEffect(() => {
    if (tx) api.definition(tx.definition.name, tx.definition.version).then(setDefinition, setError);
    // Only when the pinned version changes (never, for one transaction), not on every reload.
  }, [pinned]);

  if (!tx) return error ? <ErrorNote error={error} /> : <p>Loading…</p>;
  const canAct = canRepair(me.role);
  const statuses = Object.fromEntries(tx.steps.map((s) => [s.id, s.status]));
  const took = durations(events);
  const run = async () => {
    if (!action) return;
    if (action.kind === 'retry') await api.retry(tx.id);
    if (action.kind === 'abort') await api.abort(tx.id, reason || undefined);
    if (action.kind === 'resolve') await api.resolve(tx.id, action.step.id, outcome, note);
    if (action.kind === 'pause') await api.pause(tx.id, note || undefined);
    if (action.kind === 'resume') await api.resume(tx.id, note || undefined);
    if (action.kind === 'retry-now') await api.stepAction(tx.id, action.step.id, 'retry-now', { note: note || undefined });
    if (action.kind === 'attempts') {
      await api.stepAction(tx.id, action.step.id, 'attempts', { attemptsLeft: Number(attemptsLeft), note: note || undefined });
    }
    if (action.kind === 'edit') await api.stepAction(tx.id, action.step.id, 'edit-and-retry', { input: parseObject(output), note });
    if (action.kind === 'skip') await api.stepAction(tx.id, action.step.id, 'skip', { output: parseObject(output) ?? undefined, note });
    if (action.kind === 'fail') await api.stepAction(tx.id, action.step.id, 'fail', { note });
    await load.current();
  };
  const showMoreHistory = async () => {
    if (!moreHistory) return;
    try {
      const page = await api.events(tx.id, moreHistory, HISTORY_PAGE);
      setEvents((items) => [...items, ...page.items]);
      setMoreHistory(page.nextCursor);
      shown.current += page.items.length;
    } catch (err) {
      setError(err);
    }
  };
  const open = (a: Action) => {
    setReason('');
    setNote('');
    setOutcome(a.kind === 'resolve' && a.step.status.startsWith('compensat') ? 'compensated' : 'succeeded');
    setAttemptsLeft(a.kind === 'attempts' ? String(Math.max(1, a.step.attemptsLeft)) : '1');
    setOutput('');
    setAction(a);
    // The input its next command would carry, to start the edit from.
    if (a.kind === 'edit') api.stepInput(tx.id, a.step.id).then(({ input }) => setOutput(JSON.stringify(input, null, 2)), setError);
  };

  return (
    <section aria-labelledby="tx-title">
      <p>
        <a href={href('transactions')}>← Transactions</a>
      </p>
      <h1 id="tx-title">
        Transaction <span className="mono">{tx.id}</span> <Badge status={tx.status} />
        {tx.paused && (
          <>
            {' '}
            <Badge status="paused" />
          </>
        )}
      </h1>
      <dl className="facts">
        <dt>Definition</dt>
        <dd>
          <a href={href('definitions', tx.definition.name, tx.definition.version)}>
            {tx.definition.name} v{tx.definition.version}
          </a>
        </dd>
        <dt>Type</dt>
        <dd>{tx.type}</dd>
        {tx.paused && (
          <>
            <dt>Paused</dt>
            <dd data-paused>
              since {when(tx.paused.since)}
              {tx.paused.actor && ` by ${tx.paused.actor}`}
              {tx.paused.participants.length > 0 && ` · waiting for paused participant ${tx.paused.participants.join(', ')}`} (nothing is sent and no
              timer runs; replies are still recorded)
            </dd>
          </>
        )}
        {tx.decision && (
          <>
            <dt>Decision</dt>
            <dd>{tx.decision}</dd>
          </>
        )}
        <dt>Created</dt>
        <dd>
          {when(tx.createdAt)}
          {tx.startedBy && ` by ${tx.startedBy}`}
        </dd>
        <dt>Updated</dt>
        <dd>{when(tx.updatedAt)}</dd>
        <dt>Deadline</dt>
        <dd>{when(tx.deadline)}</dd>
        <dt>Idempotency key</dt>
        <dd>{tx.idempotencyKey ?? '—'}</dd>
        <dt>Tags</dt>
        <dd className="mono">
          {Object.entries(tx.tags)
            .map(([key, value]) => `${key}=${value}`)
            .join(', ') || '—'}
        </dd>
        {tx.ignoredReplies > 0 && (
          <>
            <dt>Ignored replies</dt>
            <dd>{tx.ignoredReplies} (duplicates or stale; only the first are in the history)</dd>
          </>
        )}
      </dl>
      {canAct && (
        <div className="toolbar" role="group" aria-label="Actions">
          {tx.status === 'failed' && (
            <button type="button" className="primary" onClick={() => open({ kind: 'retry' })}>
              Replay failed steps…
            </button>
          )}
          {(tx.status === 'running' || tx.status === 'compensating') && !tx.paused?.actor && (
            <button type="button" onClick={() => open({ kind: 'pause' })}>
              Pause…
            </button>
          )}
          {tx.paused?.actor && (
            <button type="button" className="primary" onClick={() => open({ kind: 'resume' })}>
              Resume…
            </button>
          )}
          {tx.status === 'running' && (
            <button type="button" className="danger" onClick={() => open({ kind: 'abort' })}>
              Abort…
            </button>
          )}
        </div>
      )}
      <ErrorNote error={error} />
      <h2>Steps</h2>
      {definition ? <Dag steps={definition.definition.steps} statuses={statuses} /> : <p>Loading the definition…</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Participant</th>
            <th scope="col">Status</th>
            <th scope="col">Phase / attempt</th>
            <th scope="col">Attempts left</th>
            <th scope="col">Due</th>
            <th scope="col">Output / last error</th>
            {canAct && <th scope="col">Action</th>}
          </tr>
        </thead>
        <tbody>
          {tx.steps.map((step) => (
            <tr key={step.id} data-step={step.id}>
              <td>{step.id}</td>
              <td>{step.participant}</td>
              <td>
                <Badge status={step.status} />
              </td>
              <td>
                {step.phase} #{step.attempt}
              </td>
              <td>{step.attemptsLeft}</td>
              <td>{when(step.dueAt)}</td>
              <td>
                {step.input !== null && (
                  <div data-edited-input>
                    input (edited): <Json value={step.input} />
                  </div>
                )}
                {step.output !== null && <Json value={step.output} />}
                {step.lastError && (
                  <span className="error">
                    {step.lastError.code}: {step.lastError.message}
                  </span>
                )}
              </td>
              {canAct && (
                <td>
                  {RESOLVABLE.has(step.status) && tx.status !== 'completed' && tx.status !== 'compensated' && (
                    <button type="button" onClick={() => open({ kind: 'resolve', step })}>
                      Resolve {step.id}…
                    </button>
                  )}
                  {stepActions(tx, step).map((kind) => (
                    <button key={kind} type="button" onClick={() => open({ kind, step })}>
                      {STEP_ACTION_LABELS[kind](step.id)}
                    </button>
                  ))}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Timing</h2>
      {timeline && timeline.rows.length > 0 ? <Waterfall timeline={timeline} now={Date.now()} /> : <p className="muted">No command sent yet.</p>}
      <h2>Input</h2>
      <Json value={tx.input} />
      <h2>History</h2>
      <ol className="timeline" aria-label="History, oldest first">
        {events.map((e) => (
          <li key={e.id} data-type={e.type}>
            <time className="when" dateTime={e.at}>
              {clock(e.at)}
            </time>
            <div>
              <strong>{e.type}</strong>
              {e.stepId && <> · {e.stepId}</>}
              {e.data.phase !== undefined && <> · {e.data.phase}</>}
              {e.data.attempt !== undefined && <> #{e.data.attempt}</>}
              {e.data.outcome !== undefined && <> · {e.data.outcome}</>}
              {e.data.to !== undefined && (
                <>
                  {' '}
                  · {asText(e.data.from)} → <strong>{asText(e.data.to)}</strong>
                </>
              )}
              {typeof e.data.participant === 'string' && <> · participant {e.data.participant}</>}
              {typeof e.data.pausedMs === 'number' && <> · paused {Math.round(e.data.pausedMs / 1000)} s</>}
              {['note', 'reason'].map((field) => typeof e.data[field] === 'string' && <q key={field}> {String(e.data[field])}</q>)}
              {isError(e.data.error) && (
                <span className="error">
                  {' '}
                  · {e.data.error.code}: {e.data.error.message}
                </span>
              )}
              {took.has(e.id) && <span className="muted"> · {took.get(e.id)} ms</span>}
              {e.actor && (
                <>
                  {' '}
                  · by <strong>{e.actor}</strong>
                </>
              )}
              <details>
                <summary>data</summary>
                <Json value={e.data} />
              </details>
            </div>
          </li>
        ))}
      </ol>
      {moreHistory && (
        <p>
          <button type="button" onClick={() => void showMoreHistory()}>
            Show more history
          </button>
        </p>
      )}
      {action?.kind === 'retry' && (
        <ConfirmDialog title="Replay this transaction?" confirmLabel="Replay" onConfirm={run} onClose={() => setAction(null)}>
          <p>Its failed steps are re-driven with a fresh attempt budget. The history records you as the actor.</p>
        </ConfirmDialog>
      )}
      {action?.kind === 'abort' && (
        <ConfirmDialog title="Abort this transaction?" confirmLabel="Abort" onConfirm={run} onClose={() => setAction(null)}>
          <p>It rolls back: completed steps are compensated.</p>
          <label>
            Reason (optional)
            <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={1000} />
          </label>
        </ConfirmDialog>
      )}
      {(action?.kind === 'pause' || action?.kind === 'resume') && (
        <ConfirmDialog
          title={action.kind === 'pause' ? 'Pause this transaction?' : 'Resume this transaction?'}
          confirmLabel={action.kind === 'pause' ? 'Pause' : 'Resume'}
          onConfirm={run}
          onClose={() => setAction(null)}
        >
          <p>
            {action.kind === 'pause'
              ? 'Nothing is sent and none of its timers runs (no timeout, no retry, no deadline) until it is resumed; replies still come in.'
              : 'Its timers move on by the time it was paused, and what is due then runs at once.'}
          </p>
          <NoteField note={note} setNote={setNote} />
        </ConfirmDialog>
      )}
      {(action?.kind === 'retry-now' || action?.kind === 'attempts') && (
        <ConfirmDialog
          title={action.kind === 'retry-now' ? `Retry step ${action.step.id} now?` : `Change the attempts of step ${action.step.id}?`}
          confirmLabel={action.kind === 'retry-now' ? 'Retry now' : 'Set attempts'}
          onConfirm={run}
          onClose={() => setAction(null)}
        >
          {action.kind === 'retry-now' ? (
            <p>Its next attempt goes out now instead of at {when(action.step.dueAt)}.</p>
          ) : (
            <label>
              Attempts left (a scheduled retry counts; now {action.step.attemptsLeft})
              <input type="number" min={0} max={100} value={attemptsLeft} onChange={(e) => setAttemptsLeft(e.target.value)} />
            </label>
          )}
          <NoteField note={note} setNote={setNote} />
        </ConfirmDialog>
      )}
      {action?.kind === 'edit' && (
        <ConfirmDialog
          title={`Edit the input of step ${action.step.id} and retry it?`}
          confirmLabel="Save and retry"
          onConfirm={run}
          onClose={() => setAction(null)}
          canConfirm={note.trim().length > 0 && Boolean(parseObject(output))}
        >
          <p>
            Its next command, sent now, and every later one ({tx.type === 'saga' ? 'its compensation included' : 'its later phases included'}) carry
            this input instead of the one its definition maps. The history keeps the old and the new input.
          </p>
          <label>
            Input (a JSON object)
            <textarea className="mono" value={output} onChange={(e) => setOutput(e.target.value)} rows={8} aria-invalid={!parseObject(output)} />
          </label>
          {!parseObject(output) && <p className="error">The input must be a JSON object.</p>}
          <NoteField note={note} setNote={setNote} required />
        </ConfirmDialog>
      )}
      {action?.kind === 'skip' && (
        <ConfirmDialog
          title={`Skip step ${action.step.id}?`}
          confirmLabel="Skip"
          onConfirm={run}
          onClose={() => setAction(null)}
          canConfirm={note.trim().length > 0 && parseObject(output) !== undefined}
        >
          <p>It counts as succeeded with the output you give, and the steps that depend on it run (and read it).</p>
          <label>
            Output (a JSON object, optional)
            <textarea
              className="mono"
              value={output}
              onChange={(e) => setOutput(e.target.value)}
              rows={4}
              aria-invalid={parseObject(output) === undefined}
            />
          </label>
          {parseObject(output) === undefined && <p className="error">The output must be a JSON object.</p>}
          <NoteField note={note} setNote={setNote} required />
        </ConfirmDialog>
      )}
      {action?.kind === 'fail' && (
        <ConfirmDialog
          title={`Fail step ${action.step.id}?`}
          confirmLabel="Fail the step"
          onConfirm={run}
          onClose={() => setAction(null)}
          canConfirm={note.trim().length > 0}
        >
          <p>It fails as if its participant had refused it: the transaction rolls back.</p>
          <NoteField note={note} setNote={setNote} required />
        </ConfirmDialog>
      )}
      {action?.kind === 'resolve' && (
        <ConfirmDialog
          title={`Resolve step ${action.step.id} by hand?`}
          confirmLabel="Resolve"
          onConfirm={run}
          onClose={() => setAction(null)}
          canConfirm={note.trim().length > 0}
        >
          <p>Record what you made true by hand; the transaction then proceeds.</p>
          <label>
            Outcome
            <select value={outcome} onChange={(e) => setOutcome(e.target.value as 'compensated' | 'succeeded')}>
              <option value="compensated">compensated</option>
              <option value="succeeded">succeeded</option>
            </select>
          </label>
          <NoteField note={note} setNote={setNote} required />
        </ConfirmDialog>
      )}
    </section>
  );
}

function NoteField({ note, setNote, required = false }: { note: string; setNote: (note: string) => void; required?: boolean }) {
  return (
    <label>
      Note ({required ? 'required' : 'optional'})
      <textarea value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} rows={3} required={required} />
    </label>
  );
}
