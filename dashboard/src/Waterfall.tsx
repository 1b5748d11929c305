import { Timeline, TimelineSpan } from './api';
import { clock, duration } from './ui';

const LABEL = 190;
const PLOT = 640;
const ROW = 24;
const AXIS = 22;
const BAR = 14;

/** Bar colors: an attempt by how it ended, a wait by its kind. */
export const SPAN_COLORS: Record<string, string> = {
  success: '#2f855a',
  failure: '#c53030',
  retry: '#dd6b20',
  timeout: '#b7791f',
  pending: '#3182ce',
  backoff: '#cbd2d9',
  hold: '#805ad5',
};

const colorKey = (span: TimelineSpan) => (span.kind === 'attempt' ? (span.outcome ?? 'pending') : span.kind);

function describe(span: TimelineSpan, start: number, end: number | null): string {
  const times = `${clock(start)} → ${end === null ? 'now' : clock(end)}${end === null ? '' : ` (${duration(end - start)})`}`;
  if (span.kind === 'attempt') {
    const how = span.outcome ?? 'awaiting a reply';
    return `attempt ${span.attempt}: ${how}${span.error ? ` — ${span.error.code}: ${span.error.message}` : ''}, ${times}`;
  }
  if (span.kind === 'backoff') return `backoff before attempt ${span.attempt}, ${times}`;
  return `held (${span.reason}), ${times}`;
}

/**
 * A transaction's waterfall: one row per step phase (a compensation on its own row), on one
 * time axis from the start; a bar per attempt colored by how it ended, the backoffs and holds
 * between them, and a line at each status change. Each bar's tooltip gives its times.
 */
export function Waterfall({ timeline, now }: { timeline: Timeline; now: number }) {
  const ms = (iso: string) => Date.parse(iso);
  const spans = timeline.rows.flatMap((r) => r.spans);
  const start = timeline.start ? ms(timeline.start) : Math.min(...spans.map((s) => ms(s.start)));
  const end = timeline.end ? ms(timeline.end) : Math.max(now, ...spans.map((s) => ms(s.end ?? s.start)));
  const total = Math.max(1, end - start);
  const x = (at: number) => LABEL + ((at - start) / total) * PLOT;
  const height = AXIS + timeline.rows.length * ROW + 6;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const statusChanges = timeline.marks.filter((m) => m.type === 'transaction.status_changed');
  return (
    <figure className="waterfall">
      <svg
        width="100%"
        viewBox={`0 0 ${LABEL + PLOT + 50} ${height}`}
        aria-label={`Waterfall: ${timeline.rows.length} step phases over ${duration(total)}`}
        data-testid="waterfall"
      >
        {ticks.map((t) => (
          <g key={t}>
            <line x1={LABEL + t * PLOT} x2={LABEL + t * PLOT} y1={AXIS - 4} y2={height} stroke="#e4e7eb" />
            <text x={LABEL + t * PLOT} y={12} fontSize="11" textAnchor="middle" fill="#52606d">
              {duration(t * total)}
            </text>
          </g>
        ))}
        {statusChanges.map((m) => (
          <line
            key={`${m.at}-${m.detail}`}
            data-mark={m.detail}
            x1={x(ms(m.at))}
            x2={x(ms(m.at))}
            y1={AXIS - 4}
            y2={height}
            stroke="#52606d"
            strokeDasharray="3 3"
          >
            <title>{`${m.detail} at ${clock(ms(m.at))} (+${duration(ms(m.at) - start)})`}</title>
          </line>
        ))}
        {timeline.rows.map((row, i) => {
          const y = AXIS + i * ROW;
          return (
            <g key={`${row.stepId}/${row.phase}`} data-row={`${row.stepId}/${row.phase}`}>
              <text x={LABEL - 8} y={y + ROW / 2 + 4} fontSize="12" textAnchor="end" fill="#1f2933">
                {row.stepId} · {row.phase}
              </text>
              {row.spans.map((span, j) => {
                const [from, to] = [ms(span.start), span.end === null ? end : ms(span.end)];
                const key = colorKey(span);
                return (
                  <rect
                    key={j}
                    data-span={key}
                    data-attempt={span.attempt}
                    x={x(from)}
                    y={y + (ROW - BAR) / 2}
                    width={Math.max(2, x(to) - x(from))}
                    height={BAR}
                    rx="2"
                    fill={SPAN_COLORS[key]}
                  >
                    <title>{describe(span, from, span.end === null ? null : to)}</title>
                  </rect>
                );
              })}
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        {Object.entries(SPAN_COLORS).map(([key, color]) => (
          <span key={key}>
            <svg width="10" height="10" aria-hidden="true">
              <rect width="10" height="10" rx="2" fill={color} />
            </svg>{' '}
            {key}
          </span>
        ))}
        {timeline.truncated && <span className="muted"> (first 10,000 history events only)</span>}
      </figcaption>
    </figure>
  );
}
