/** A node of a dependency graph: `dependsOn` lists the nodes that must come before it. */
export interface DagNode {
  readonly id: string;
  readonly dependsOn: readonly string[];
}

/** Nodes that name `id` in their `dependsOn`. */
export function directDependents<N extends DagNode>(nodes: readonly N[], id: string): N[] {
  return nodes.filter((node) => node.dependsOn.includes(id));
}

/** Every node `id` depends on, directly or transitively. Unknown ids are ignored. */
export function ancestors(nodes: readonly DagNode[], id: string): Set<string> {
  const byId = indexById(nodes);
  const found = new Set<string>();
  const visit = (current: string): void => {
    for (const dependency of byId.get(current)?.dependsOn ?? []) {
      if (!found.has(dependency) && byId.has(dependency)) {
        found.add(dependency);
        visit(dependency);
      }
    }
  };
  visit(id);
  return found;
}

/**
 * One cycle per strongly connected component that has one, each as the ids along it
 * (`[a, b, c]` reads a → b → c → a, following `dependsOn`). Self-dependencies and unknown
 * ids are left to the caller.
 */
export function findCycles(nodes: readonly DagNode[]): string[][] {
  const byId = indexById(nodes);
  const edges = (id: string): string[] => (byId.get(id)?.dependsOn ?? []).filter((target) => target !== id && byId.has(target));
  return stronglyConnectedComponents([...byId.keys()], edges)
    .filter((component) => component.length > 1)
    .map((component) => cycleWithin(new Set(component), component[0], edges));
}

// Walking any edge that stays inside a strongly connected component must revisit a node.
function cycleWithin(component: ReadonlySet<string>, start: string, edges: (id: string) => string[]): string[] {
  const path: string[] = [];
  let current = start;
  while (!path.includes(current)) {
    path.push(current);
    current = edges(current).find((next) => component.has(next)) ?? start;
  }
  return path.slice(path.indexOf(current));
}

// Tarjan's algorithm; recursion depth is bounded by the step limit of a definition.
function stronglyConnectedComponents(ids: readonly string[], edges: (id: string) => string[]): string[][] {
  const visited = new Map<string, { readonly index: number; low: number }>();
  const stack: string[] = [];
  const components: string[][] = [];

  const connect = (id: string): { readonly index: number; low: number } => {
    const node = { index: visited.size, low: visited.size };
    visited.set(id, node);
    stack.push(id);
    for (const next of edges(id)) {
      const seen = visited.get(next);
      if (!seen) node.low = Math.min(node.low, connect(next).low);
      else if (stack.includes(next)) node.low = Math.min(node.low, seen.index);
    }
    if (node.low === node.index) components.push(stack.splice(stack.lastIndexOf(id)));
    return node;
  };

  for (const id of ids) if (!visited.has(id)) connect(id);
  return components;
}

function indexById<N extends DagNode>(nodes: readonly N[]): Map<string, N> {
  return new Map(nodes.map((node) => [node.id, node]));
}
