import fc from 'fast-check';
import { ancestors, DagNode, directDependents, findCycles } from './dag';

const node = (id: string, ...dependsOn: string[]): DagNode => ({ id, dependsOn });

describe('dag', () => {
  const diamond = [node('a'), node('b', 'a'), node('c', 'a'), node('d', 'b', 'c')];

  it('lists direct dependents', () => {
    expect(directDependents(diamond, 'a').map((n) => n.id)).toEqual(['b', 'c']);
    expect(directDependents(diamond, 'd')).toEqual([]);
  });

  it('collects transitive ancestors, ignoring unknown ids', () => {
    expect([...ancestors(diamond, 'd')].sort()).toEqual(['a', 'b', 'c']);
    expect(ancestors(diamond, 'a').size).toBe(0);
    expect([...ancestors([node('x', 'ghost', 'y'), node('y')], 'x')]).toEqual(['y']);
  });

  it('finds no cycle in a DAG', () => {
    expect(findCycles(diamond)).toEqual([]);
  });

  it('names the steps of each cycle in dependency order', () => {
    const cycles = findCycles([node('a', 'c'), node('b', 'a'), node('c', 'b'), node('x', 'y'), node('y', 'x'), node('z')]);
    expect(cycles).toHaveLength(2);
    const [abc, xy] = cycles.sort((p, q) => q.length - p.length);
    expect(abc).toHaveLength(3);
    for (let i = 0; i < abc.length; i++) {
      const from = abc[i];
      const to = abc[(i + 1) % abc.length];
      expect([node('a', 'c'), node('b', 'a'), node('c', 'b')].find((n) => n.id === from)?.dependsOn).toContain(to);
    }
    expect([...xy].sort()).toEqual(['x', 'y']);
  });

  it('leaves self-dependencies to the caller', () => {
    expect(findCycles([node('a', 'a')])).toEqual([]);
  });

  it('finds a cycle exactly when an edge points forward in the listing order', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 10 })
          .chain((n) => fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 20 }).map((edges) => ({ n, edges }))),
        ({ n, edges }) => {
          const nodes = Array.from({ length: n }, (_, i) =>
            node(`s${i}`, ...edges.filter(([from, to]) => from === i && to !== from).map(([, to]) => `s${to}`)),
          );
          const cycles = findCycles(nodes);
          const reaches = (from: string, to: string): boolean => ancestors(nodes, from).has(to);
          for (const cycle of cycles) {
            cycle.forEach((id, i) => {
              expect(nodes.find((m) => m.id === id)?.dependsOn).toContain(cycle[(i + 1) % cycle.length]);
            });
          }
          const cyclic = nodes.some((m) => reaches(m.id, m.id));
          expect(cycles.length > 0).toBe(cyclic);
        },
      ),
    );
  });
});
