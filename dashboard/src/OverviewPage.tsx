import { useEffect, useState } from 'react';
import { AlertWebhooks } from './AlertWebhooks';
import { AdaptiveTimeoutInForce, api, canRepair, OUTCOMES, Principal } from './api';
import { href } from './router';
import { TimingTable } from './TimingTable';
import { Badge, ConfirmDialog, ErrorNote, percent, STATUS_COLORS, useLoad, when } from './ui';

/** `412 ms (2 × p99 206 ms, 200 replies)`; at its maximum while too few replies are known. */
const timeoutInForce = (t: AdaptiveTimeoutInForce) =>
  t.percentileMs === null
    ? `${t.timeoutMs} ms (the maximum: ${t.samples} replies known)`
    : `${t.timeoutMs} ms (${t.factor} × p${t.percentile} ${t.percentileMs} ms, ${t.samples} replies)`;

/** Throughput and outcome rates over a recent window, stuck transactions, participants' health; for admins, alert webhooks. */
export function OverviewPage({ me }: { me: Principal }) {
  const [windowMinutes, setWindow] = useState(60);
  const [stuckMinutes, setStuck] = useState(5);
  const overview = useLoad(() => api.overview(windowMinutes, stuckMinutes), [windowMinutes, stuckMinutes]);
  const timings = useLoad(() => api.timingStats(windowMinutes), [windowMinutes]);
  const participants = useLoad(() => api.participants(), []);
  const canAct = canRepair(me.role);
  const [pausing, setPausingState] = useState<{ participant: string; resume: boolean } | null>(null);
  const [note, setNote] = useState('');
  const [toPause, setToPause] = useState('');
  const setPausing = (next: { participant: string; resume: boolean } | null) => {
    setNote('');
    setPausingState(next);
  };
  const [notice, setNotice] = useState('');
  useEffect(() => {
    const timer = setInterval(() => {
      overview.reload();
      timings.reload();
      participants.reload();
    }, 5000);
    return () => clearInterval(timer);
  });
  const o = overview.data;
  const columns = o ? Math.ceil((o.windowMinutes * 60) / o.bucketSeconds) : 0;
  const peak = Math.max(1, ...(o?.endedPerBucket.map((b) => OUTCOMES.reduce((n, s) => n + b[s], 0)) ?? []));
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Overview settings">
        <label>
          Window
          <select value={windowMinutes} onChange={(e) => setWindow(Number(e.target.value))}>
            {[15, 60, 240, 1440].map((m) => (
              <option key={m} value={m}>
                last {m >= 60 ? `${m / 60} h` : `${m} min`}
              </option>
            ))}
          </select>
        </label>
        <label>
          Stuck after (minutes)
          <input type="number" min={1} max={1440} value={stuckMinutes} onChange={(e) => setStuck(Math.max(1, Number(e.target.value) || 1))} />
        </label>
      </form>
      <ErrorNote error={overview.error ?? timings.error ?? participants.error} />
      {o && (
        <>
          <div className="cards">
            <div className="card">
              <div className="big">{o.throughputPerMinute.toFixed(2)}</div>ended / min
            </div>
            <div className="card">
              <div className="big">{percent(o.rates.completed)}</div>completed
            </div>
            <div className="card">
              <div className="big">{percent(o.rates.compensated)}</div>compensated
            </div>
            <div className="card">
              <div className="big">{percent(o.rates.failed)}</div>failed
            </div>
            <div className="card">
              <div className="big">{o.ended.total}</div>ended since {when(o.from)}
            </div>
            <div className="card">
              <div className="big">{o.live.total}</div>in flight now ({o.live.running} running, {o.live.compensating} compensating)
            </div>
          </div>
          <h2>Ended per {o.bucketSeconds / 60} min, by outcome</h2>
          <svg
            className="chart"
            width="100%"
            height="120"
            viewBox={`0 0 ${columns * 12} 100`}
            preserveAspectRatio="none"
            role="img"
            aria-label={`Transactions ended per ${o.bucketSeconds / 60} min`}
          >
            {o.endedPerBucket.map((b) => {
              // One column per bucket of the window, the newest (current) on the right.
              const i = Math.floor((Date.parse(b.start) - Date.parse(o.from)) / (o.bucketSeconds * 1000));
              let y = 100;
              return OUTCOMES.map((s) => {
                const h = (b[s] / peak) * 100;
                y -= h;
                return h > 0 ? (
                  <rect key={`${b.start}-${s}`} data-outcome={s} x={i * 12} y={y} width={10} height={h} fill={STATUS_COLORS[s]} />
                ) : null;
              });
            })}
          </svg>
          <h2>Durations and failures of the transactions that ended</h2>
          <p className="muted">Step durations: dispatch to reply of the successful attempt. Transactions: start to end.</p>
          {timings.data && <TimingTable stats={timings.data} />}
          <h2>Stuck: no progress for {o.stuckMinutes} min</h2>
          {o.stuck.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Id</th>
                  <th scope="col">Definition</th>
                  <th scope="col">Status</th>
                  <th scope="col">Last progress</th>
                </tr>
              </thead>
              <tbody>
                {o.stuck.map((t) => (
                  <tr key={t.id}>
                    <td>
                      <a className="mono" href={href('transactions', t.id)}>
                        {t.id}
                      </a>
                    </td>
                    <td>
                      {t.definition.name} v{t.definition.version}
                    </td>
                    <td>
                      <Badge status={t.status} />
                    </td>
                    <td>{when(t.updatedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      <h2>Participants</h2>
      {canAct && (
        <form
          className="filters"
          aria-label="Pause a participant"
          onSubmit={(e) => {
            e.preventDefault();
            if (toPause.trim()) setPausing({ participant: toPause.trim(), resume: false });
          }}
        >
          <label>
            Participant to pause
            <input value={toPause} onChange={(e) => setToPause(e.target.value)} placeholder="inventory" pattern="[a-z][a-z0-9\-]{0,62}" />
          </label>
          <button type="submit">Pause…</button>
        </form>
      )}
      <p role="status">{notice}</p>
      {participants.data?.items.length === 0 ? (
        <p className="muted">No participant has commands in flight, a circuit breaker or an adaptive timeout on this instance, or a pause.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Participant</th>
              <th scope="col">Circuit</th>
              <th scope="col">In flight</th>
              <th scope="col">Failure ratio</th>
              <th scope="col">Adaptive timeout</th>
              <th scope="col">Paused</th>
              {canAct && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {participants.data?.items.map((p) => (
              <tr key={p.participant}>
                <td>{p.participant}</td>
                <td>
                  <span className={`circuit circuit-${p.circuit}`}>{p.circuit}</span>
                </td>
                <td>{p.inFlight}</td>
                <td>{percent(p.failureRatio)}</td>
                <td data-adaptive-timeouts={p.adaptiveTimeouts.length}>
                  {p.adaptiveTimeouts.length === 0
                    ? '—'
                    : p.adaptiveTimeouts.map((t) => <div key={`${t.percentile}/${t.factor}/${t.minMs}/${t.maxMs}`}>{timeoutInForce(t)}</div>)}
                </td>
                <td data-paused={p.paused ? 'yes' : 'no'}>
                  {p.paused ? `since ${when(p.paused.since)} by ${p.paused.by}${p.paused.note ? ` (${p.paused.note})` : ''}` : '—'}
                </td>
                {canAct && (
                  <td>
                    <button type="button" onClick={() => setPausing({ participant: p.participant, resume: p.paused !== null })}>
                      {p.paused ? `Resume ${p.participant}…` : `Pause ${p.participant}…`}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {pausing && (
        <ConfirmDialog
          title={`${pausing.resume ? 'Resume' : 'Pause'} participant ${pausing.participant}?`}
          confirmLabel={pausing.resume ? 'Resume' : 'Pause'}
          onClose={() => setPausing(null)}
          onConfirm={async () => {
            if (pausing.resume) {
              const { resumed } = await api.resumeParticipant(pausing.participant);
              setNotice(`${pausing.participant} resumed, and ${resumed} transaction(s) that waited for it`);
            } else {
              await api.pauseParticipant(pausing.participant, note || undefined);
              setNotice(`${pausing.participant} paused`);
            }
            participants.reload();
          }}
        >
          <p>
            {pausing.resume
              ? 'Its held commands go out, and the transactions that waited for it resume with their timers moved on by the time they waited.'
              : 'Every command to it is held, and each transaction that needs it pauses (no timeout, no retry, no deadline) until it is resumed.'}
          </p>
          {!pausing.resume && (
            <label>
              Note (optional)
              <textarea value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} rows={3} />
            </label>
          )}
        </ConfirmDialog>
      )}
      {me.role === 'admin' && <AlertWebhooks />}
    </section>
  );
}
