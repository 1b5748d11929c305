import { Percentiles, TimingStats } from './api';
import { duration, percent } from './ui';

const cells = (p: Percentiles | null) => (['p50', 'p95', 'p99', 'max'] as const).map((k) => <td key={k}>{p ? duration(p[k]) : '—'}</td>);

/** Per definition and step phase: ends or runs, failure rate, retries and p50/p95/p99/max durations over the window (from the rollup). */
export function TimingTable({ stats }: { stats: TimingStats }) {
  if (stats.definitions.length === 0) return <p className="muted">No transaction ended in this window.</p>;
  return (
    <table aria-label="Durations and failure rates">
      <thead>
        <tr>
          <th scope="col">Definition / step</th>
          <th scope="col">Ended / ran</th>
          <th scope="col">Failure rate</th>
          <th scope="col">Retries</th>
          <th scope="col">p50</th>
          <th scope="col">p95</th>
          <th scope="col">p99</th>
          <th scope="col">max</th>
        </tr>
      </thead>
      {stats.definitions.map((d) => (
        <tbody key={d.name} data-definition={d.name}>
          <tr data-series="transaction">
            <th scope="row">{d.name}</th>
            <td>{d.transactions.ended}</td>
            <td title={`${d.transactions.compensated} compensated, ${d.transactions.failed} failed`}>{percent(d.transactions.failureRate)}</td>
            <td />
            {cells(d.transactions.durationMs)}
          </tr>
          {d.steps.map((s) => (
            <tr key={`${s.stepId}/${s.phase}`} data-series={`${s.stepId}/${s.phase}`}>
              <td>
                ↳ {s.stepId} · {s.phase}
              </td>
              <td>{s.count}</td>
              <td>{percent(s.failureRate)}</td>
              <td>{s.retries}</td>
              {cells(s.durationMs)}
            </tr>
          ))}
        </tbody>
      ))}
    </table>
  );
}
