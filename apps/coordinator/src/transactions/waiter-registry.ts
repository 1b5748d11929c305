/** Why a wait ended: the awaited key ended (with what its waker knew), time ran out, or the wait was let go. */
export type WaitOutcome<T> = { readonly kind: 'ended'; readonly value: T } | { readonly kind: 'timeout' } | { readonly kind: 'released' };

/** One caller's wait: a slot taken from the registry until its outcome settles. */
export interface Waiter<T> {
  /** Settles once, and gives the slot back when it does. */
  readonly outcome: Promise<WaitOutcome<T>>;
  /** From now on, ends when `key` ends. Taken before the key is known (a transaction being started), attached after. */
  watch(key: string): void;
  /** Ends the wait now (released); nothing once it has settled. */
  cancel(): void;
}

/**
 * Callers waiting for keys to end, bounded in number and time. It holds no I/O of its own:
 * whoever learns that a key ended calls `wake`, and `onBusy` tells the owner when the first
 * waiter arrives and the last one leaves, so that it listens for ends only while anyone waits.
 */
export class WaiterRegistry<T> {
  private readonly byKey = new Map<string, Set<(value: T) => void>>();
  private readonly settlers = new Set<(outcome: WaitOutcome<T>) => void>();
  private closed = false;

  constructor(
    readonly max: number,
    private readonly onBusy: (busy: boolean) => void = () => undefined,
  ) {}

  get size(): number {
    return this.settlers.size;
  }

  /**
   * A wait of at most `ms`, released early when `signal` aborts (the client went away);
   * undefined when `max` callers already wait. After `close`, every wait is released at once.
   */
  take(ms: number, signal?: AbortSignal): Waiter<T> | undefined {
    if (this.closed) return released();
    if (this.settlers.size >= this.max) return undefined;
    let key: string | undefined;
    let resolve!: (outcome: WaitOutcome<T>) => void;
    const outcome = new Promise<WaitOutcome<T>>((r) => (resolve = r));
    const onAbort = () => settle({ kind: 'released' });
    const woken = (value: T) => settle({ kind: 'ended', value });
    const timer = setTimeout(() => settle({ kind: 'timeout' }), ms);
    const settle = (result: WaitOutcome<T>) => {
      if (!this.settlers.delete(settle)) return;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (key !== undefined) this.unwatch(key, woken);
      resolve(result);
      if (this.settlers.size === 0) this.onBusy(false);
    };
    this.settlers.add(settle);
    if (this.settlers.size === 1) this.onBusy(true);
    if (signal?.aborted) settle({ kind: 'released' });
    else signal?.addEventListener('abort', onAbort, { once: true });
    return {
      outcome,
      watch: (watched) => {
        if (key !== undefined || !this.settlers.has(settle)) return;
        key = watched;
        const set = this.byKey.get(watched) ?? new Set();
        set.add(woken);
        this.byKey.set(watched, set);
      },
      cancel: () => settle({ kind: 'released' }),
    };
  }

  /** Ends every wait for `key` with `value`; how many there were. */
  wake(key: string, value: T): number {
    const woken = [...(this.byKey.get(key) ?? [])];
    for (const wake of woken) wake(value);
    return woken.length;
  }

  /** Releases every wait, now and from now on: shutdown must not wait for them. */
  close(): void {
    this.closed = true;
    for (const settle of [...this.settlers]) settle({ kind: 'released' });
  }

  private unwatch(key: string, woken: (value: T) => void): void {
    const set = this.byKey.get(key)!;
    set.delete(woken);
    if (set.size === 0) this.byKey.delete(key);
  }
}

function released<T>(): Waiter<T> {
  return { outcome: Promise.resolve({ kind: 'released' }), watch: () => undefined, cancel: () => undefined };
}
