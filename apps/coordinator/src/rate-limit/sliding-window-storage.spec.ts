import { SlidingWindowStorage } from './sliding-window-storage';

const MINUTE = 60_000;

describe('SlidingWindowStorage', () => {
  let now: number;
  let storage: SlidingWindowStorage;
  const hit = (key = 'k', limit = 3, blockDuration = MINUTE) => storage.increment(key, MINUTE, limit, blockDuration);

  beforeEach(() => {
    now = 1_000_000;
    storage = new SlidingWindowStorage(() => now);
  });

  it('lets the limit through and blocks the hit past it, with the time to wait', async () => {
    for (let n = 1; n <= 3; n++) expect(await hit()).toMatchObject({ totalHits: n, isBlocked: false, timeToBlockExpire: 0 });
    expect(await hit()).toEqual({ totalHits: 4, timeToExpire: 60, isBlocked: true, timeToBlockExpire: 60 });
    now += 20_000;
    expect(await hit()).toMatchObject({ isBlocked: true, timeToBlockExpire: 40 });
  });

  it('counts each key apart', async () => {
    for (let n = 0; n < 3; n++) await hit('a');
    expect(await hit('a')).toMatchObject({ isBlocked: true });
    expect(await hit('b')).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it("weighs the previous window's hits by how much of it is still within the last minute", async () => {
    for (let n = 0; n < 10; n++) await hit('k', 100);
    now += MINUTE + MINUTE / 4; // three quarters of the previous window still count
    expect(await hit('k', 100)).toMatchObject({ totalHits: 1 + Math.floor(10 * 0.75), timeToExpire: 45 });
    now += MINUTE; // two windows on: nothing of the first is left
    expect(await hit('k', 100)).toMatchObject({ totalHits: 1 + Math.floor(1 * 0.75) });
    now += 2 * MINUTE;
    expect(await hit('k', 100)).toMatchObject({ totalHits: 1 });
  });

  it('lets a blocked key through again once its block is over and the minute has slid on', async () => {
    for (let n = 0; n < 4; n++) await hit();
    now += 2 * MINUTE;
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('counts a window of 100,000 hits exactly', async () => {
    for (let n = 0; n < 100_000; n++) await hit('k', 1_000_000);
    expect(await hit('k', 1_000_000)).toMatchObject({ totalHits: 100_001, isBlocked: false });
  });
});
