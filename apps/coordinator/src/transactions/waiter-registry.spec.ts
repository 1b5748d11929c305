import { WaiterRegistry } from './waiter-registry';

describe('WaiterRegistry', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('wakes every waiter of a key with the value, and only them', async () => {
    const registry = new WaiterRegistry<string>(10);
    const [a, b, other] = [registry.take(1000)!, registry.take(1000)!, registry.take(1000)!];
    a.watch('tx-1');
    b.watch('tx-1');
    other.watch('tx-2');
    expect(registry.wake('tx-1', 'completed')).toBe(2);
    expect(await a.outcome).toEqual({ kind: 'ended', value: 'completed' });
    expect(await b.outcome).toEqual({ kind: 'ended', value: 'completed' });
    expect(registry.size).toBe(1);
    expect(registry.wake('tx-1', 'again')).toBe(0);
  });

  it('does not wake a waiter before it watches a key', () => {
    const registry = new WaiterRegistry<string>(10);
    const waiter = registry.take(1000)!;
    expect(registry.wake('tx-1', 'completed')).toBe(0);
    waiter.watch('tx-1');
    expect(registry.wake('tx-1', 'completed')).toBe(1);
  });

  it('times out after its wait, counted from when it was taken', async () => {
    const registry = new WaiterRegistry<string>(10);
    const waiter = registry.take(500)!;
    jest.advanceTimersByTime(499);
    waiter.watch('tx-1');
    expect(registry.size).toBe(1);
    jest.advanceTimersByTime(1);
    expect(await waiter.outcome).toEqual({ kind: 'timeout' });
    expect(registry.size).toBe(0);
    expect(registry.wake('tx-1', 'completed')).toBe(0);
  });

  it('refuses a waiter beyond the cap until a slot is given back', async () => {
    const registry = new WaiterRegistry<string>(2);
    const first = registry.take(1000)!;
    registry.take(1000)!.watch('tx-2');
    expect(registry.take(1000)).toBeUndefined();
    first.cancel();
    expect(await first.outcome).toEqual({ kind: 'released' });
    expect(registry.take(1000)).toBeDefined();
  });

  it('releases a waiter whose client went away, and gives its slot back', async () => {
    const registry = new WaiterRegistry<string>(1);
    const gone = new AbortController();
    const waiter = registry.take(1000, gone.signal)!;
    waiter.watch('tx-1');
    gone.abort();
    expect(await waiter.outcome).toEqual({ kind: 'released' });
    expect(registry.wake('tx-1', 'completed')).toBe(0);
    expect(registry.take(1000)).toBeDefined();
  });

  it('releases at once a waiter whose client is already gone', async () => {
    const registry = new WaiterRegistry<string>(1);
    const waiter = registry.take(1000, AbortSignal.abort())!;
    expect(await waiter.outcome).toEqual({ kind: 'released' });
    expect(registry.size).toBe(0);
  });

  it('settles once: a wake after a timeout changes nothing', async () => {
    const registry = new WaiterRegistry<string>(10);
    const waiter = registry.take(10)!;
    waiter.watch('tx-1');
    jest.advanceTimersByTime(10);
    waiter.cancel();
    registry.wake('tx-1', 'completed');
    expect(await waiter.outcome).toEqual({ kind: 'timeout' });
  });

  it('tells its owner when the first waiter comes and the last one leaves', () => {
    const busy: boolean[] = [];
    const registry = new WaiterRegistry<string>(10, (b) => busy.push(b));
    const a = registry.take(1000)!;
    const b = registry.take(1000)!;
    a.watch('tx-1');
    b.watch('tx-2');
    registry.wake('tx-1', 'completed');
    expect(busy).toEqual([true]);
    registry.wake('tx-2', 'compensated');
    expect(busy).toEqual([true, false]);
    registry.take(1000)!.cancel();
    expect(busy).toEqual([true, false, true, false]);
  });

  it('releases every waiter at close, and every later one at once', async () => {
    const registry = new WaiterRegistry<string>(1);
    const waiter = registry.take(60_000)!;
    waiter.watch('tx-1');
    registry.close();
    expect(await waiter.outcome).toEqual({ kind: 'released' });
    const late = registry.take(60_000)!;
    expect(await late.outcome).toEqual({ kind: 'released' });
    expect(registry.size).toBe(0);
  });
});
