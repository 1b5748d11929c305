const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 5 * 60_000;

/**
 * How long a start waits after its `attempts`-th failed delivery: doubling from 1 s up to
 * 5 min, then shortened by a random part of up to half, so the services that queued starts
 * during an outage do not all come back at the same instant.
 */
export function retryDelayMs(attempts: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling * (1 - random() / 2));
}
