import { ThrottlerStorage } from '@nestjs/throttler';

/** What a storage answers (the package does not export the type by name). */
type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface Window {
  /** When the current window began (ms). Windows are `ttl` long and follow one another. */
  start: number;
  current: number;
  previous: number;
  /** Until when the key is refused (ms); 0 when not blocked. */
  blockedUntil: number;
}

/**
 * @nestjs/throttler's storage as a sliding-window counter: per key, the hits of the current
 * fixed window plus the previous window's, weighted by how much of it still lies within the
 * last `ttl` (the estimate Cloudflare and others use). O(1) time and memory per key.
 * The package's own in-memory storage keeps one timestamp per hit and filters them all on
 * every request: at the default limit (60,000 a minute) a request cost about 1.6 ms of CPU,
 * more than the whole rest of a saga (measured in docs/benchmarks.md).
 * As there, the hit that goes over the limit blocks the key for `blockDuration`.
 */
export class SlidingWindowStorage implements ThrottlerStorage {
  private readonly windows = new Map<string, Window>();
  private nextSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  increment(key: string, ttl: number, limit: number, blockDuration: number): Promise<ThrottlerStorageRecord> {
    const now = this.now();
    this.sweep(now, ttl);
    let window = this.windows.get(key);
    if (!window) this.windows.set(key, (window = { start: now, current: 0, previous: 0, blockedUntil: 0 }));
    roll(window, now, ttl);
    const timeToExpire = seconds(window.start + ttl - now);
    if (window.blockedUntil > now) {
      return Promise.resolve({
        totalHits: estimate(window, now, ttl),
        timeToExpire,
        isBlocked: true,
        timeToBlockExpire: seconds(window.blockedUntil - now),
      });
    }
    window.current++;
    const totalHits = estimate(window, now, ttl);
    if (totalHits <= limit) return Promise.resolve({ totalHits, timeToExpire, isBlocked: false, timeToBlockExpire: 0 });
    window.blockedUntil = now + blockDuration;
    return Promise.resolve({ totalHits, timeToExpire, isBlocked: true, timeToBlockExpire: seconds(blockDuration) });
  }

  /** Forgets, once per `ttl`, the keys nothing has counted against for two windows. */
  private sweep(now: number, ttl: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + ttl;
    for (const [key, window] of this.windows) {
      if (window.start + 2 * ttl <= now && window.blockedUntil <= now) this.windows.delete(key);
    }
  }
}

/** Moves the window on to the one holding `now`; a window with no hit in it leaves nothing behind. */
function roll(window: Window, now: number, ttl: number): void {
  const elapsed = Math.floor((now - window.start) / ttl);
  if (elapsed < 1) return;
  window.previous = elapsed === 1 ? window.current : 0;
  window.current = 0;
  window.start += elapsed * ttl;
}

/** Hits within the last `ttl`: the current window's and the part of the previous one still inside it. */
function estimate(window: Window, now: number, ttl: number): number {
  const overlap = 1 - (now - window.start) / ttl;
  return Math.floor(window.current + window.previous * overlap);
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
