import { GroupCommit } from './group-commit';

/** A run that the test ends by hand, recording each group it was given. */
function manualRun() {
  const groups: number[][] = [];
  const ends: (() => void)[] = [];
  const run = (items: number[]) =>
    new Promise<string[]>((resolve) => {
      groups.push(items);
      ends.push(() => resolve(items.map((i) => `done ${i}`)));
    });
  return { groups, run, endNext: () => ends.shift()!() };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('runs a lone item at once, and groups what arrives while a run is in flight', async () => {
    const { groups, run, endNext } = manualRun();
    const commit = new GroupCommit(run);
    const first = commit.submit(1);
    const later = [commit.submit(2), commit.submit(3)];
    expect(groups).toEqual([[1]]);
    endNext();
    expect(await first).toBe('done 1');
    await tick();
    expect(groups).toEqual([[1], [2, 3]]);
    endNext();
    expect(await Promise.all(later)).toEqual(['done 2', 'done 3']);
  });

  it('takes at most max in a group', async () => {
    const { groups, run, endNext } = manualRun();
    const commit = new GroupCommit(run, { max: 2 });
    const all = [1, 2, 3, 4].map((i) => commit.submit(i));
    for (let n = 0; n < 3; n++) {
      await tick();
      endNext();
    }
    expect(await Promise.all(all)).toEqual(['done 1', 'done 2', 'done 3', 'done 4']);
    expect(groups).toEqual([[1], [2, 3], [4]]);
  });

  it('counts each item by its size against max, and sends an item larger than max alone', async () => {
    const { groups, run, endNext } = manualRun();
    const commit = new GroupCommit(run, { max: 5, size: (i: number) => i });
    const all = [1, 2, 3, 2, 9, 1].map((i) => commit.submit(i));
    for (let n = 0; n < 5; n++) {
      await tick();
      endNext();
    }
    await Promise.all(all);
    expect(groups).toEqual([[1], [2, 3], [2], [9], [1]]);
  });

  it('with gatherTurn, groups what is submitted in the same turn from the first run on', async () => {
    const { groups, run, endNext } = manualRun();
    const commit = new GroupCommit(run, { gatherTurn: true });
    const first = [commit.submit(1), commit.submit(2)];
    await Promise.resolve();
    const third = commit.submit(3);
    expect(groups).toEqual([]);
    await tick();
    expect(groups).toEqual([[1, 2, 3]]);
    endNext();
    expect(await Promise.all([...first, third])).toEqual(['done 1', 'done 2', 'done 3']);
    const later = commit.submit(4);
    await tick();
    expect(groups).toEqual([[1, 2, 3], [4]]);
    endNext();
    expect(await later).toBe('done 4');
  });

  it('with concurrency, starts a new run while others are in flight, up to that many', async () => {
    const { groups, run, endNext } = manualRun();
    const commit = new GroupCommit(run, { concurrency: 2 });
    const all = [1, 2, 3, 4].map((i) => commit.submit(i));
    expect(groups).toEqual([[1], [2]]);
    endNext();
    await tick();
    expect(groups).toEqual([[1], [2], [3, 4]]);
    endNext();
    endNext();
    expect(await Promise.all(all)).toEqual(['done 1', 'done 2', 'done 3', 'done 4']);
  });

  it('fails only the item that fails: a failed group runs again item by item', async () => {
    const commit = new GroupCommit((items: number[]) =>
      items.includes(13) ? Promise.reject(new Error('unlucky')) : Promise.resolve(items.map((i) => `done ${i}`)),
    );
    const results = await Promise.allSettled([12, 13, 14].map((i) => commit.submit(i)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['done 12', 'unlucky', 'done 14']);
  });
});
