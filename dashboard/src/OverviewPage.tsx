import { useEffect, useState } from 'react';
import { AlertWebhooks } from './AlertWebhooks';
import { api, Principal, TX_STATUSES } from './api';
import { href } from './router';
import { Badge, ErrorNote, STATUS_COLORS, useLoad, when } from './ui';

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

/** Throughput and outcome rates over a recent window, stuck transactions, participants' health; for admins, alert webhooks. */
export function OverviewPage({ me }: { me: Principal }) {
  const [windowMinutes, setWindow] = useState(60);
  const [stuckMinutes, setStuck] = useState(5);
  const overview = useLoad(() => api.overview(windowMinutes, stuckMinutes), [windowMinutes, stuckMinutes]);
  const participants = useLoad(() => api.participants(), []);
  useEffect(() => {
    const timer = setInterval(() => {
      overview.reload();
      participants.reload();
    }, 5000);
    return () => clearInterval(timer);
  });
  const o = overview.data;
  const peak = Math.max(1, ...(o?.perMinute.map((b) => TX_STATUSES.reduce((n, s) => n + b.counts[s], 0)) ?? []));
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
      <ErrorNote error={overview.error ?? participants.error} />
      {o && (
        <>
          <div className="cards">
            <div className="card">
              <div className="big">{o.throughputPerMinute.toFixed(2)}</div>started / min
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
              <div className="big">{o.started.total}</div>started since {when(o.from)}
            </div>
          </div>
          <h2>Started per minute, by status now</h2>
          <svg className="chart" width="100%" height="120" viewBox={`0 0 ${(o.windowMinutes + 1) * 12} 100`} preserveAspectRatio="none" role="img" aria-label="Transactions started per minute">
            {o.perMinute.map((b) => {
              // One column per minute of the window, the newest on the right.
              const i = Math.floor((Date.parse(b.minute) - Date.parse(o.from)) / 60_000) + 1;
              let y = 100;
              return TX_STATUSES.map((s) => {
                const h = (b.counts[s] / peak) * 100;
                y -= h;
                return h > 0 ? <rect key={`${b.minute}-${s}`} x={i * 12} y={y} width={10} height={h} fill={STATUS_COLORS[s]} /> : null;
              });
            })}
          </svg>
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
      {participants.data?.items.length === 0 ? (
        <p className="muted">No participant has commands in flight or a circuit breaker on this instance.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Participant</th>
              <th scope="col">Circuit</th>
              <th scope="col">In flight</th>
              <th scope="col">Failure ratio</th>
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
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {me.role === 'admin' && <AlertWebhooks />}
    </section>
  );
}
