import { CoordinatorApi, TERMINAL, TxView } from './coordinator-api';

/** A small deterministic PRNG (mulberry32), so every run sends the same load. */
export function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts one transaction of `definition` per input, `concurrency` requests at a time; their ids. */
export async function startConcurrently(api: CoordinatorApi, definition: string, inputs: object[], concurrency: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < inputs.length) ids.push((await api.start(definition, inputs[next++])).id);
    }),
  );
  return ids;
}

/**
 * Runs one transaction of `definition` per input with at most `concurrency` of them
 * unfinished at any time (closed loop: the next starts when one ends); their final views.
 */
export async function runClosedLoop(api: CoordinatorApi, definition: string, inputs: object[], concurrency: number): Promise<TxView[]> {
  const finals: TxView[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < inputs.length) finals.push(await api.waitFor((await api.start(definition, inputs[next++])).id, TERMINAL, 240_000));
    }),
  );
  return finals;
}

/** Polls the coordinator until all `count` transactions of the definition have ended. */
export async function waitAllTerminal(api: CoordinatorApi, definition: string, count: number, timeoutMs = 240_000): Promise<TxView[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api.request<{ items: TxView[] }>('GET', `/transactions?definition=${definition}&limit=500`);
    if (body.items.length === count && body.items.every((tx) => TERMINAL.includes(tx.status))) return body.items;
    if (Date.now() > until) throw new Error(`transactions of ${definition} still running after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
