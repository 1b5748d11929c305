import { useEffect, useState } from 'react';
import { api, canRepair, PreparedWork, Principal } from './api';
import { href } from './router';
import { ConfirmDialog, ErrorNote, useLoad, when } from './ui';

const VERDICT_TEXT: Record<PreparedWork['verdict'], string> = {
  commit: 'decided: commit',
  abort: 'decided: abort',
  pending: 'undecided',
  missing: 'no such transaction (presumed abort)',
};

const held = (ms: number) => (ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 1000).toFixed(1)} s`);

/**
 * Two-phase commit in doubt: the prepared transactions participants report holding, with
 * what the coordinator knows of each. Work whose decision is known (or whose transaction is
 * missing) should have been finished: an operator can ask the participant to finish it now.
 */
export function InDoubtPage({ me }: { me: Principal }) {
  const work = useLoad(() => api.inDoubt(), []);
  const canAct = canRepair(me.role);
  const [finishing, setFinishingState] = useState<PreparedWork | null>(null);
  const [note, setNote] = useState('');
  const [notice, setNotice] = useState('');
  const setFinishing = (next: PreparedWork | null) => {
    setNote('');
    setFinishingState(next);
  };
  useEffect(() => {
    const timer = setInterval(() => work.reload(), 3000);
    return () => clearInterval(timer);
  });
  const items = work.data?.items ?? [];
  return (
    <section aria-labelledby="in-doubt-title">
      <h1 id="in-doubt-title">In doubt</h1>
      <p className="muted">
        Prepared transactions (2PC) that participants hold, as they last reported them. Each holds its locks until it is finished by the coordinator's
        decision.
      </p>
      <ErrorNote error={work.error} />
      <p role="status">{notice}</p>
      {work.data && items.length === 0 ? (
        <p className="muted">No participant reports prepared work.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Participant</th>
              <th scope="col">Transaction</th>
              <th scope="col">Step</th>
              <th scope="col">Coordinator</th>
              <th scope="col">Held for</th>
              <th scope="col">Tables locked</th>
              <th scope="col">Waiting sessions</th>
              <th scope="col">Reported</th>
              {canAct && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {items.map((w) => (
              <tr key={w.gid} data-verdict={w.verdict} className={w.shouldBeFinished ? 'overdue' : undefined}>
                <td>{w.participant}</td>
                <td>
                  {w.verdict === 'missing' ? (
                    <span className="mono">{w.txId}</span>
                  ) : (
                    <a className="mono" href={href('transactions', w.txId)}>
                      {w.txId}
                    </a>
                  )}
                </td>
                <td>{w.stepId}</td>
                <td>
                  {VERDICT_TEXT[w.verdict]}
                  {w.shouldBeFinished && <strong> — should have been finished</strong>}
                </td>
                <td title={`prepared ${when(w.preparedAt)}, xid ${w.xid}`}>{held(w.heldMs)}</td>
                <td>{w.relations.join(', ') || '—'}</td>
                <td>{w.waiters}</td>
                <td>
                  {when(w.reportedAt)} by {w.reportedBy}
                </td>
                {canAct && (
                  <td>
                    {w.finishRequestedBy ? (
                      `finish asked by ${w.finishRequestedBy}`
                    ) : w.shouldBeFinished ? (
                      <button type="button" onClick={() => setFinishing(w)}>
                        Finish now…
                      </button>
                    ) : (
                      '—'
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {finishing && (
        <ConfirmDialog
          title={`Finish ${finishing.stepId} of ${finishing.txId} on ${finishing.participant}?`}
          confirmLabel={finishing.verdict === 'commit' ? 'Commit it now' : 'Roll it back now'}
          onClose={() => setFinishing(null)}
          onConfirm={async () => {
            await api.finishPrepared(finishing, note || undefined);
            setNotice(`${finishing.participant} asked to finish ${finishing.txId}/${finishing.stepId}`);
            work.reload();
          }}
        >
          <p>
            {finishing.participant} applies the coordinator's decision ({finishing.verdict === 'commit' ? 'COMMIT PREPARED' : 'ROLLBACK PREPARED'})
            when it next reports, and releases its locks.
          </p>
          <label>
            Note (optional)
            <textarea value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} rows={3} />
          </label>
        </ConfirmDialog>
      )}
    </section>
  );
}
