const MINUTE_MS = 60_000;

/** A webhook's current rate-limit window: the minute it started, and the alerts sent in it. */
export interface RateWindow {
  start: number;
  sent: number;
}

/** The start of the minute after `now`: when a folded alert's summary may go. */
export const nextWindowStart = (now: number) => Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS;

/**
 * Takes up to `wanted` places among `perMinute` in the minute of `now` (fixed windows: a new
 * minute starts from nothing). The caller sends `granted` alerts and folds the rest.
 */
export function reserve(window: RateWindow, now: number, wanted: number, perMinute: number): { window: RateWindow; granted: number } {
  const start = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const sent = window.start === start ? window.sent : 0;
  const granted = Math.max(0, Math.min(wanted, perMinute - sent));
  return { window: { start, sent: sent + granted }, granted };
}
