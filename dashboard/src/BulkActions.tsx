import { useEffect, useState } from 'react';
import { api, BULK_ACTIONS, BulkActionKind, BulkRun, Filter } from './api';
import { ConfirmDialog, ErrorNote, when } from './ui';

const LABELS: Record<BulkActionKind, string> = {
  retry: 'replay (failed ones)',
  abort: 'abort (running ones)',
  pause: 'pause (running ones)',
  resume: 'resume (paused ones)',
  retry_now: 'retry a step now',
  set_attempts: "set a step's attempts",
  skip: 'skip a step',
  fail_step: 'fail a step',
};
const STEP_ACTIONS: BulkActionKind[] = ['retry_now', 'set_attempts', 'skip', 'fail_step'];

/**
 * An operator action on every transaction matching the list's filter: counted first (a dry
 * run), then run in batches by the coordinator; BulkProgress follows it.
 */
export function BulkActionDialog({ filter, onClose, onStarted }: { filter: Filter; onClose: () => void; onStarted: () => void }) {
  const [form, setForm] = useState({ action: 'pause' as BulkActionKind, stepId: '', attemptsLeft: '1', output: '', note: '' });
  const [matched, setMatched] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const stepAction = STEP_ACTIONS.includes(form.action);
  const needsNote = form.action === 'skip' || form.action === 'fail_step';
  const request = (dryRun: boolean) => ({
    ...filter,
    action: form.action,
    ...(stepAction && { stepId: form.stepId.trim() }),
    ...(form.action === 'set_attempts' && { attemptsLeft: Number(form.attemptsLeft) }),
    ...(form.action === 'skip' && form.output.trim() && { output: JSON.parse(form.output) as object }),
    ...(form.note.trim() && { note: form.note.trim() }),
    dryRun,
  });
  const set = (name: keyof typeof form) => (e: { target: { value: string } }) => {
    setForm((f) => ({ ...f, [name]: e.target.value }));
    // What it would act on may change: count again before running.
    setMatched(null);
  };
  const count = async () => {
    setError(null);
    try {
      setMatched((await api.bulkAction(request(true))).matched);
    } catch (e) {
      setError(e);
    }
  };
  const ready = matched !== null && matched > 0 && (!stepAction || form.stepId.trim() !== '') && (!needsNote || form.note.trim() !== '');
  return (
    <ConfirmDialog
      title="Bulk action on the transactions matching the filter"
      confirmLabel={matched === null ? 'Run (count first)' : `Run on ${matched} transaction(s)`}
      canConfirm={ready}
      onClose={onClose}
      onConfirm={async () => {
        await api.bulkAction(request(false));
        onStarted();
      }}
    >
      <p>
        Every matching transaction (oldest first, at most 1,000) gets the action, in batches; one it no longer applies to is left as it is. Each
        history records you as the actor.
      </p>
      <label>
        Action
        <select value={form.action} onChange={set('action')}>
          {BULK_ACTIONS.map((a) => (
            <option key={a} value={a}>
              {LABELS[a]}
            </option>
          ))}
        </select>
      </label>
      {stepAction && (
        <label>
          Step
          <input value={form.stepId} onChange={set('stepId')} placeholder="charge" />
        </label>
      )}
      {form.action === 'set_attempts' && (
        <label>
          Attempts left
          <input type="number" min={0} max={100} value={form.attemptsLeft} onChange={set('attemptsLeft')} />
        </label>
      )}
      {form.action === 'skip' && (
        <label>
          Output (a JSON object, optional)
          <textarea className="mono" rows={3} value={form.output} onChange={set('output')} />
        </label>
      )}
      <label>
        Note ({needsNote ? 'required' : 'optional'})
        <textarea rows={2} maxLength={2000} value={form.note} onChange={set('note')} />
      </label>
      <p>
        <button type="button" onClick={() => void count()}>
          Count matching
        </button>{' '}
        <span role="status">{matched !== null && `${matched} transaction(s) match`}</span>
      </p>
      <ErrorNote error={error} />
    </ConfirmDialog>
  );
}

/** The latest bulk actions with their progress, followed while any runs. */
export function BulkProgress({ refresh }: { refresh: number }) {
  const [runs, setRuns] = useState<BulkRun[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const load = async () => {
      try {
        const { items } = await api.bulkActions();
        if (stopped) return;
        setRuns(items.slice(0, 5));
        setError(null);
        if (items.some((r) => r.status === 'running')) timer = setTimeout(() => void load(), 1000);
      } catch (e) {
        setError(e);
      }
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [refresh]);
  if (runs.length === 0) return <ErrorNote error={error} />;
  return (
    <section aria-labelledby="bulk-title">
      <h2 id="bulk-title">Bulk actions</h2>
      <ErrorNote error={error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Action</th>
            <th scope="col">By</th>
            <th scope="col">Started</th>
            <th scope="col">Progress</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-bulk={r.id} data-status={r.status}>
              <td>
                {LABELS[r.action]}
                {typeof r.params.stepId === 'string' && <> · {r.params.stepId}</>}
              </td>
              <td>{r.actor}</td>
              <td>{when(r.createdAt)}</td>
              <td>
                <progress value={r.processed} max={Math.max(1, r.matched)} aria-label={`Progress of ${LABELS[r.action]}`} /> {r.processed} /{' '}
                {r.matched} gone through, {r.applied} applied{r.status === 'done' ? ' · done' : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
