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

  it('takes at most maxItems in a group', async () => {
    const { groups, run, endNext } = manualRun();
    const commit = new GroupCommit(run, 2);
    const all = [1, 2, 3, 4].map((i) => commit.submit(i));
    for (let n = 0; n < 3; n++) {
      await tick();
      endNext();
    }
    expect(await Promise.all(all)).toEqual(['done 1', 'done 2', 'done 3', 'done 4']);
    expect(groups).toEqual([[1], [2, 3], [4]]);
  });

  it('fails only the item that fails: a failed group runs again item by item', async () => {
    const commit = new GroupCommit((items: number[]) =>
      items.includes(13) ? Promise.reject(new Error('unlucky')) : Promise.resolve(items.map((i) => `done ${i}`)),
    );
    const results = await Promise.allSettled([12, 13, 14].map((i) => commit.submit(i)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['done 12', 'unlucky', 'done 14']);
  });
});
