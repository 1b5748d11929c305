import { randomBytes } from 'crypto';
import type { Participant } from '@ordo/client';
import { setTimeout as sleep } from 'timers/promises';
import { bearer } from '../support/auth';
import { CspRefusals, launchBrowser, shot, signIn } from '../support/browser';
import { CoordinatorApi, EventView } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';
import { SILENT, success, TestParticipant } from '../support/test-participant';

type AdaptiveTimeoutView = Participant['adaptiveTimeouts'][number];

/**
 * Adaptive step timeouts end to end: a real coordinator learns a slow participant's reply
 * times from its replies, shows the timeout in force (API and /metrics), never times the
 * slow but healthy participant out, and notices it quickly once it stops answering.
 *
 * The reply times live in one coordinator instance, so it runs on a database schema and
 * topic prefix of its own: coordinators of other test files cannot apply its replies.
 */
describe('adaptive step timeouts', () => {
  const suffix = randomBytes(3).toString('hex');
  const name = `adaptive${suffix}`;
  const topicPrefix = `${testEnv().topicPrefix}${name}.`;
  const POLICY = { minMs: 200, maxMs: 15000, percentile: 99, factor: 2 };
  const LATENCY_MS = 300;
  const MIN_SAMPLES = 10;
  let app: RunningApp;
  let api: CoordinatorApi;
  let participant: TestParticipant;
  let dead = false;

  beforeAll(async () => {
    app = await startApp('coordinator', {
      DATABASE_SCHEMA: `ordo_${name}`,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      // A window of 10: the first replies, slowed by the consumers settling, leave it after 10 more.
      REPLY_TIME_WINDOW: String(MIN_SAMPLES),
      REPLY_TIME_MIN_SAMPLES: String(MIN_SAMPLES),
    });
    api = new CoordinatorApi(app.url);
    // Answers every command after LATENCY_MS, each on its own (a worker pool), until it dies.
    participant = new TestParticipant({
      name: `slow-${suffix}`,
      topicPrefix,
      parallel: true,
      behaviour: () => (dead ? SILENT : { kind: 'delay', ms: LATENCY_MS, then: success() }),
    });
    await participant.start();
    await api.register({
      name: `adaptive-${suffix}`,
      type: 'saga',
      defaults: { adaptiveTimeout: POLICY, retry: { maxAttempts: 3, initialDelayMs: 50, multiplier: 1, maxDelayMs: 50, jitter: 'none' } },
      steps: [{ id: 'call', participant: participant.name, action: 'call', compensation: 'undo' }],
    });
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await participant?.stop();
  });

  const timeoutsOf = async (): Promise<AdaptiveTimeoutView[]> => {
    const { body } = await api.request<{ items: Participant[] }>('GET', '/participants');
    return body.items.find((p) => p.participant === participant.name)?.adaptiveTimeouts ?? [];
  };
  const run = async (count: number) => {
    const ids = await Promise.all(Array.from({ length: count }, (_, n) => api.start(`adaptive-${suffix}`, { n }).then((tx) => tx.id)));
    return Promise.all(ids.map((id) => api.waitFor(id, ['completed', 'compensated', 'failed'])));
  };
  const inForce = (percentileMs: number) => Math.min(POLICY.maxMs, Math.max(POLICY.minMs, Math.ceil(POLICY.factor * percentileMs)));
  /** How long each attempt of the step was given: its deadline less the instant it was sent. */
  const attemptTimeouts = (events: EventView[]) =>
    events.filter((e) => e.type === 'step.dispatched').map((e) => (e.data.deadline as number) - Date.parse(e.at));

  it('waits maxMs until it knows enough replies, then factor × their p99; never times out the slow but healthy participant', async () => {
    const first = await run(MIN_SAMPLES);
    expect(first.map((tx) => tx.status)).toEqual(Array(MIN_SAMPLES).fill('completed'));
    // Sent together before any reply was known: each waited the maximum.
    for (const tx of first) expect(attemptTimeouts(await api.events(tx.id))).toEqual([POLICY.maxMs]);

    // The p99 of 10 is the slowest: the first replies also wait for the consumers to settle.
    const [known] = await timeoutsOf();
    expect(known.percentileMs).toBeGreaterThanOrEqual(LATENCY_MS);
    expect(known).toEqual({ ...POLICY, timeoutMs: inForce(known.percentileMs!), percentileMs: known.percentileMs, samples: MIN_SAMPLES });

    const later = await run(10);
    expect(later.map((tx) => tx.status)).toEqual(Array(10).fill('completed'));
    const histories = await Promise.all(later.map((tx) => api.events(tx.id)));
    // Above the 200 ms minimum and the 300 ms the participant takes: no attempt timed out, none was retried.
    expect(histories.flat().filter((e) => e.type === 'step.timed_out')).toEqual([]);
    for (const events of histories) {
      const [timeout] = attemptTimeouts(events);
      expect(timeout).toBeGreaterThan(2 * LATENCY_MS);
      expect(timeout).toBeLessThan(POLICY.maxMs);
    }
    const [converged] = await timeoutsOf();
    expect(converged.samples).toBe(MIN_SAMPLES);
    expect(converged.timeoutMs).toBe(inForce(converged.percentileMs!));

    // The same value, as a gauge in seconds.
    const metrics = await (await fetch(`${app.url}/metrics`, { headers: bearer('metrics') })).text();
    const line = `ordo_adaptive_timeout_seconds{participant="${participant.name}",policy="p99x2:200-15000ms"} ${converged.timeoutMs / 1000}`;
    expect(metrics.split('\n')).toContain(line);
  }, 120_000);

  it("shows the timeout in force in the dashboard overview's participants table", async () => {
    const [inForce] = await timeoutsOf();
    const browser = await launchBrowser();
    const refusals = new CspRefusals();
    try {
      const page = await signIn(browser, app.url, 'viewer', refusals);
      await page.goto(`${app.url}/#/overview`);
      const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: participant.name, exact: true }) });
      const text = `${inForce.timeoutMs} ms (2 × p99 ${inForce.percentileMs} ms, ${MIN_SAMPLES} replies)`;
      await row.getByRole('cell', { name: text }).waitFor();
      await shot(page, 'overview-adaptive-timeout');
      expect(refusals.take()).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('notices a participant that stopped answering within about twice its usual reply time, not after maxMs', async () => {
    const [before] = await timeoutsOf();
    dead = true;
    const tx = await api.start(`adaptive-${suffix}`, {});
    let events: EventView[] = [];
    for (let tries = 0; tries < 200 && events.filter((e) => e.type === 'step.timed_out').length < 2; tries++) {
      await sleep(100);
      events = await api.events(tx.id);
    }
    const [firstAttempt, secondAttempt] = attemptTimeouts(events);
    expect(firstAttempt).toBe(before.timeoutMs);
    const sent = Date.parse(events.find((e) => e.type === 'step.dispatched')!.at);
    const noticed = Date.parse(events.find((e) => e.type === 'step.timed_out')!.at);
    // The timer poller fires within its interval of the due instant.
    expect(noticed - sent).toBeGreaterThanOrEqual(before.timeoutMs);
    expect(noticed - sent).toBeLessThan(before.timeoutMs + 1500);
    expect(noticed - sent).toBeLessThan(POLICY.maxMs / 3);
    // The timeout counts as a reply time that long: the next attempt waits at least as long, never past maxMs.
    expect(secondAttempt).toBeGreaterThanOrEqual(firstAttempt);
    expect(secondAttempt).toBeLessThanOrEqual(POLICY.maxMs);
  }, 60_000);
});
