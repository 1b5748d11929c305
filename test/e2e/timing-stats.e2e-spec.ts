import { randomBytes } from 'crypto';
import type { components } from '@ordo/client';
import { Command } from '@ordo/protocol';
import { sleep } from '../../tools/infra/proc';
import { CoordinatorApi, EventView, TERMINAL } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import { Behaviour, failCompensationFirst, failForward, retryFirst, script, TestParticipant } from '../support/test-participant';

type Percentiles = components['schemas']['LatencyPercentiles'];
type Stats = components['schemas']['TimingStats'];
type TimelineView = components['schemas']['TimelineView'];

/**
 * Timing statistics end to end: sagas that complete, retry, roll back and fail run through a
 * real coordinator; the rollup job adds their ends, and GET /stats/definitions answers with
 * exact counts and failure rates, and percentiles within the durations the histories show.
 * GET /transactions/overview reads the same rows for its ended counts and rates.
 * GET /transactions/{id}/timeline draws each attempt of those histories.
 */
describe('timing statistics and timelines', () => {
  const suffix = randomBytes(3).toString('hex');
  const [shop, bank] = [`shop-${suffix}`, `bank-${suffix}`];
  const flow = `timing-${suffix}`;
  const cases: Record<string, Behaviour> = {
    happy: script(),
    retried: script(retryFirst('charge', 'execute', 1)),
    refused: script(failForward('charge', 'NO_MONEY')),
    stuck: script(failForward('charge', 'NO_MONEY'), failCompensationFirst('order', 99)),
  };
  const byCase: Behaviour = (command: Command, ctx) => cases[command.input.case as string](command, ctx);
  const participants = [shop, bank].map((name) => new TestParticipant({ name, behaviour: byCase, log: [] }));
  let coordinator: RunningApp;
  let api: CoordinatorApi;
  const runs: { case: string; id: string; events: EventView[] }[] = [];

  beforeAll(async () => {
    await Promise.all(participants.map((p) => p.start()));
    coordinator = await startApp('coordinator', { ROLLUP_INTERVAL_MS: '200' });
    api = new CoordinatorApi(coordinator.url);
    await api.register({
      name: flow,
      type: 'saga',
      defaults: { timeoutMs: 5000, retry: { maxAttempts: 3, initialDelayMs: 50, multiplier: 2, maxDelayMs: 200, jitter: 'none' } },
      steps: [
        { id: 'order', participant: shop, action: 'create', compensation: 'cancel' },
        { id: 'charge', participant: bank, action: 'charge', compensation: 'refund', dependsOn: ['order'] },
      ],
    });
    const planned = ['happy', 'happy', 'happy', 'retried', 'refused', 'refused', 'stuck'];
    await Promise.all(
      planned.map(async (name) => {
        const tx = await api.start(flow, { case: name });
        await api.waitFor(tx.id, TERMINAL);
        runs.push({ case: name, id: tx.id, events: await api.events(tx.id) });
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await coordinator?.stop();
    await Promise.all(participants.map((p) => p.stop()));
  });

  const ms = (at: string) => Date.parse(at);
  /** Per run, the ms from dispatch to reply of each answered attempt of (step, phase), from the history. */
  const attemptDurations = (stepId: string, phase: string, outcome: string) =>
    runs.flatMap(({ events }) =>
      events.flatMap((e) => {
        const data = e.data as { stepId?: string; phase?: string; attempt?: number; outcome?: string };
        if (e.type !== 'step.replied' || data.stepId !== stepId || data.phase !== phase || data.outcome !== outcome) return [];
        const sent = events.find(
          (d) =>
            d.type === 'step.dispatched' &&
            d.stepId === stepId &&
            (d.data as { phase: string; attempt: number }).phase === phase &&
            (d.data as { attempt: number }).attempt === data.attempt,
        )!;
        return [ms(e.at) - ms(sent.at)];
      }),
    );
  const within = (p: Percentiles | null, durations: number[]) => {
    expect(p).not.toBeNull();
    const [min, max] = [Math.min(...durations), Math.max(...durations)];
    expect(p!.max).toBe(max);
    for (const figure of [p!.p50, p!.p95, p!.p99]) {
      expect(figure).toBeGreaterThanOrEqual(min);
      expect(figure).toBeLessThanOrEqual(max);
    }
    expect(p!.p50).toBeLessThanOrEqual(p!.p95);
    expect(p!.p95).toBeLessThanOrEqual(p!.p99);
  };

  async function statsOnce(windowMinutes: number): Promise<Stats['definitions'][number] | undefined> {
    const { status, body } = await api.request<Stats>('GET', `/stats/definitions?windowMinutes=${windowMinutes}&definition=${flow}`);
    expect(status).toBe(200);
    return body.definitions[0];
  }

  it('counts every end exactly, with failure rates and percentiles within the measured durations', async () => {
    let stats = await statsOnce(15);
    for (const until = Date.now() + 20_000; (stats?.transactions.ended ?? 0) < runs.length && Date.now() < until;) {
      await sleep(200);
      stats = await statsOnce(15);
    }
    expect(runs.map((r) => r.case).sort()).toEqual(['happy', 'happy', 'happy', 'refused', 'refused', 'retried', 'stuck']);
    expect(stats!.transactions).toMatchObject({ ended: 7, completed: 4, compensated: 2, failed: 1, failureRate: 3 / 7 });
    const txDurations = runs.map(({ events }) => ms(events.filter((e) => e.type === 'transaction.status_changed').at(-1)!.at) - ms(events[0].at));
    within(stats!.transactions.durationMs, txDurations);

    const steps = Object.fromEntries(stats!.steps.map((s) => [`${s.stepId}/${s.phase}`, s]));
    // in the definition's order, forward phases first; a refused step is compensated too (its effects may be partial)
    expect(stats!.steps.map((s) => `${s.stepId}/${s.phase}`)).toEqual(['order/execute', 'charge/execute', 'order/compensate', 'charge/compensate']);
    expect(steps['order/execute']).toMatchObject({ count: 7, failures: 0, failureRate: 0, retries: 0 });
    // refused twice and once in `stuck`; `retried` succeeded at its second attempt
    expect(steps['charge/execute']).toMatchObject({ count: 7, failures: 3, failureRate: 3 / 7, retries: 1 });
    // `stuck`: three refused attempts, then the transaction failed
    expect(steps['order/compensate']).toMatchObject({ count: 3, failures: 1, failureRate: 1 / 3, retries: 2 });
    expect(steps['charge/compensate']).toMatchObject({ count: 3, failures: 0, failureRate: 0, retries: 0 });
    within(steps['order/execute'].durationMs, attemptDurations('order', 'execute', 'success'));
    within(steps['charge/execute'].durationMs, attemptDurations('charge', 'execute', 'success'));
    within(steps['order/compensate'].durationMs, attemptDurations('order', 'compensate', 'success'));
    // first dispatch to last answer: the retried one's includes its 50 ms backoff
    const chargeTotals = runs.map(({ events }) => {
      const charge = events.filter((e) => e.stepId === 'charge' && (e.data as { phase?: string }).phase === 'execute');
      return ms(charge.filter((e) => e.type === 'step.replied').at(-1)!.at) - ms(charge.find((e) => e.type === 'step.dispatched')!.at);
    });
    within(steps['charge/execute'].totalMs, chargeTotals);
    expect(steps['charge/execute'].totalMs!.max).toBeGreaterThanOrEqual(50);

    // a day's window reads the hour rows: the same counts
    const day = await statsOnce(1440);
    expect(day!.transactions).toEqual(stats!.transactions);
    expect(day!.steps.map((s) => [s.stepId, s.phase, s.count, s.failures, s.retries])).toEqual(
      stats!.steps.map((s) => [s.stepId, s.phase, s.count, s.failures, s.retries]),
    );
  });

  it("answers the overview's figures from the rollup: every definition's ends by outcome, and the live ones apart", async () => {
    type Outcomes = { completed: number; compensated: number; failed: number };
    interface Overview {
      from: string;
      windowMinutes: number;
      bucketSeconds: number;
      ended: Outcomes & { total: number };
      throughputPerMinute: number;
      rates: Outcomes;
      endedPerBucket: (Outcomes & { start: string })[];
      live: { running: number; compensating: number; total: number };
    }
    // Counted page by page: the counts endpoint stops at 5,000 matches, and other files fill the schema past that.
    const countOf = async (status: string) => {
      let [n, cursor] = [0, ''];
      for (;;) {
        const { body } = await api.request<{ items: unknown[]; nextCursor: string | null }>(
          'GET',
          `/transactions?status=${status}&limit=100${cursor && `&cursor=${encodeURIComponent(cursor)}`}`,
        );
        n += body.items.length;
        if (!body.nextCursor) return n;
        cursor = body.nextCursor;
      }
    };
    // Other files' transactions share the schema and may end between two requests: read until two agree.
    for (const until = Date.now() + 20_000; ;) {
      const before = Date.now();
      const [overview, stats, running, compensating] = await Promise.all([
        api.request<Overview>('GET', '/transactions/overview?windowMinutes=15&stuckMinutes=5'),
        api.request<Stats>('GET', '/stats/definitions?windowMinutes=15'),
        countOf('running'),
        countOf('compensating'),
      ]);
      expect(overview.status).toBe(200);
      const o = overview.body;
      const sum = (of: (t: Stats['definitions'][number]['transactions']) => number) =>
        stats.body.definitions.reduce((n, d) => n + of(d.transactions), 0);
      const fromRollup = {
        completed: sum((t) => t.completed),
        compensated: sum((t) => t.compensated),
        failed: sum((t) => t.failed),
        total: sum((t) => t.ended),
      };
      const live = { running, compensating };
      if (
        (JSON.stringify(o.ended) !== JSON.stringify(fromRollup) || o.live.running !== live.running || o.live.compensating !== live.compensating) &&
        Date.now() < until
      ) {
        await sleep(300);
        continue;
      }
      // 15 minutes read 15 one-minute buckets, the current one the newest
      expect([o.windowMinutes, o.bucketSeconds, Date.parse(o.from) % 60_000]).toEqual([15, 60, 0]);
      expect(Math.floor(before / 60_000) * 60_000 - Date.parse(o.from)).toBe(14 * 60_000);
      expect(o.ended).toEqual(fromRollup);
      // at least this file's seven: four completed, two rolled back, one left failed
      expect(o.ended.completed).toBeGreaterThanOrEqual(4);
      expect(o.ended.compensated).toBeGreaterThanOrEqual(2);
      expect(o.ended.failed).toBeGreaterThanOrEqual(1);
      expect(o.rates).toEqual({
        completed: o.ended.completed / o.ended.total,
        compensated: o.ended.compensated / o.ended.total,
        failed: o.ended.failed / o.ended.total,
      });
      const buckets = (k: keyof Outcomes) => o.endedPerBucket.reduce((n, b) => n + b[k], 0);
      expect({ completed: buckets('completed'), compensated: buckets('compensated'), failed: buckets('failed') }).toEqual({
        completed: o.ended.completed,
        compensated: o.ended.compensated,
        failed: o.ended.failed,
      });
      expect(o.endedPerBucket.every((b) => Date.parse(b.start) % 60_000 === 0 && b.start >= o.from)).toBe(true);
      expect(o.live).toEqual({ ...live, total: live.running + live.compensating });
      break;
    }
  });

  it('refuses a window out of range', async () => {
    const { status, body } = await api.request('GET', '/stats/definitions?windowMinutes=0');
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toContain('windowMinutes');
  });

  it('draws the waterfall of a transaction from its history', async () => {
    const retried = runs.find((r) => r.case === 'retried')!;
    const { status, body } = await api.request<TimelineView>('GET', `/transactions/${retried.id}/timeline`);
    expect(status).toBe(200);
    expect(body.start).toBe(retried.events[0].at);
    expect(body.end).toBe(retried.events.filter((e) => e.type === 'transaction.status_changed').at(-1)!.at);
    expect(body.truncated).toBe(false);
    expect(body.rows.map((r) => [r.stepId, r.phase, r.spans.map((s) => [s.kind, s.attempt, s.outcome ?? null])])).toEqual([
      ['order', 'execute', [['attempt', 1, 'success']]],
      [
        'charge',
        'execute',
        [
          ['attempt', 1, 'retry'],
          ['backoff', 2, null],
          ['attempt', 2, 'success'],
        ],
      ],
    ]);

    const stuck = runs.find((r) => r.case === 'stuck')!;
    const timeline = (await api.request<TimelineView>('GET', `/transactions/${stuck.id}/timeline`)).body;
    const compensation = timeline.rows.find((r) => r.stepId === 'order' && r.phase === 'compensate')!;
    expect(compensation.spans.filter((s) => s.kind === 'attempt').map((s) => s.outcome)).toEqual(['failure', 'failure', 'failure']);

    expect((await api.request('GET', `/transactions/00000000-0000-4000-8000-000000000000/timeline`)).status).toBe(404);
  });
});
