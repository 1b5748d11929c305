import { StepDefinition } from './api';
import { STATUS_COLORS } from './ui';

const W = 170;
const H = 46;
const GAP_X = 60;
const GAP_Y = 22;
/** About what fits in a box at 11 px; the full text is in the box's tooltip. */
const fit = (text: string, most = 26) => (text.length > most ? `${text.slice(0, most - 1)}…` : text);

/**
 * A definition's steps as a graph, left to right: each step's column is the length of the
 * longest dependency chain leading to it. With `statuses`, each step is colored by its state.
 */
export function Dag({ steps, statuses }: { steps: StepDefinition[]; statuses?: Record<string, string> }) {
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen = new Set<string>()): number => {
    if (depth.has(id)) return depth.get(id)!;
    const step = steps.find((s) => s.id === id);
    // Definitions are validated acyclic; `seen` only guards against a malformed one.
    const deps = (step?.dependsOn ?? []).filter((d) => !seen.has(d));
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((dep) => depthOf(dep, new Set([...seen, id]))));
    depth.set(id, d);
    return d;
  };
  const columns: StepDefinition[][] = [];
  for (const step of steps) (columns[depthOf(step.id)] ??= []).push(step);
  const position = new Map<string, { x: number; y: number }>();
  columns.forEach((column, c) => column?.forEach((step, r) => position.set(step.id, { x: 10 + c * (W + GAP_X), y: 10 + r * (H + GAP_Y) })));
  const width = 20 + columns.length * (W + GAP_X) - GAP_X;
  const height = 20 + Math.max(1, ...columns.map((c) => c?.length ?? 0)) * (H + GAP_Y) - GAP_Y;
  const label = steps.map((s) => `${s.id}${statuses ? ` ${statuses[s.id] ?? ''}` : ''}`).join(', ');
  return (
    <svg className="dag" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Steps: ${label}`}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#7b8794" />
        </marker>
      </defs>
      {steps.flatMap((step) =>
        (step.dependsOn ?? []).map((dep) => {
          const from = position.get(dep);
          const to = position.get(step.id)!;
          if (!from) return null;
          const [x1, y1, x2, y2] = [from.x + W, from.y + H / 2, to.x, to.y + H / 2];
          const mid = (x1 + x2) / 2;
          return (
            <path
              key={`${dep}-${step.id}`}
              d={`M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`}
              fill="none"
              stroke="#7b8794"
              strokeWidth="1.5"
              markerEnd="url(#arrow)"
            />
          );
        }),
      )}
      {steps.map((step) => {
        const { x, y } = position.get(step.id)!;
        const status = statuses?.[step.id];
        const fill = status ? (STATUS_COLORS[status] ?? '#777') : '#eef2f7';
        const text = status ? '#fff' : '#1f2933';
        return (
          <g key={step.id} data-step={step.id} data-status={status}>
            <title>{`${step.id}: ${step.participant}.${step.action}${step.compensation ? ` (undo: ${step.compensation})` : ' (pivot)'}${status ? ` — ${status}` : ''}`}</title>
            <rect x={x} y={y} width={W} height={H} rx="8" fill={fill} stroke="#52606d" strokeWidth="1" />
            <text x={x + W / 2} y={y + 19} textAnchor="middle" fill={text} fontWeight="600" fontSize="13">
              {fit(step.id, 22)}
            </text>
            <text x={x + W / 2} y={y + 36} textAnchor="middle" fill={text} fontSize="11">
              {status ?? fit(`${step.participant}.${step.action}`)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
