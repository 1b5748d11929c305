import { randomBytes } from 'crypto';
import { createServer } from 'http';
import { AddressInfo } from 'net';
import { Browser, Page } from 'playwright-core';
import { Command } from '@ordo/protocol';
import { insertFinishedTransactions } from '../../tools/bench/finished-transactions';
import { TEST_KEYS, testActor } from '../support/auth';
import { CspRefusals, launchBrowser, shot, signIn as signInAs } from '../support/browser';
import { CoordinatorApi, TERMINAL } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import { Behaviour, failCompensationFirst, failForward, retryFirst, script, TestParticipant } from '../support/test-participant';
import { testEnv } from '../support/test-env';
import { waitFor } from '../../tools/infra/proc';
import { orderSaga } from '../../tools/bench/order-saga';

/**
 * The web dashboard in a real browser (Debian's Chromium driven by playwright-core) against
 * a real coordinator process: an operator finds a failed transaction and replays it, a
 * viewer sees no action and the API refuses one. Every page is saved as a screenshot, and
 * runs under the coordinator's Content-Security-Policy with nothing refused.
 */
describe('dashboard', () => {
  const suffix = randomBytes(3).toString('hex');
  const shop = `dash-shop-${suffix}`;
  const flow = `dash-order-${suffix}`;
  const cases: Record<string, Behaviour> = {};
  const participant = new TestParticipant({
    name: shop,
    behaviour: (command: Command, ctx) => (cases[command.input.case as string] ?? script())(command, ctx),
  });
  let coordinator: RunningApp;
  let api: CoordinatorApi;
  let browser: Browser;
  /** Checked after every test. */
  const refusals = new CspRefusals();

  const definition = orderSaga(flow, {
    shop,
    orderActions: { create: 'create-order', cancel: 'cancel-order', confirm: 'confirm-order' },
    defaults: { timeoutMs: 1000, retry: { maxAttempts: 3, initialDelayMs: 50, multiplier: 2, maxDelayMs: 200 } },
  });
  const startCase = async (name: string, behaviour: Behaviour) => {
    cases[name] = behaviour;
    return api.start(flow, { case: name });
  };

  /** Waits until the list shows exactly the one transaction. */
  const onlyRow = (page: Page, id: string) =>
    waitFor(
      `the list showing only ${id}`,
      async () => {
        const rows = page.locator('tbody tr[data-id]');
        return (await rows.count()) === 1 && (await rows.first().getAttribute('data-id')) === id ? true : undefined;
      },
      15_000,
    );

  const signIn = (role: keyof typeof TEST_KEYS): Promise<Page> => signInAs(browser, coordinator.url, role, refusals);

  beforeAll(async () => {
    await participant.start();
    coordinator = await startApp('coordinator');
    api = new CoordinatorApi(coordinator.url);
    await api.register(definition);
    browser = await launchBrowser();
  });

  afterEach(() => expect(refusals.take()).toEqual([]));

  afterAll(async () => {
    await browser?.close();
    await coordinator?.stop();
    await participant.stop();
  });

  it('lets an operator find a failed transaction, replay it, and watch it become compensated', async () => {
    await Promise.all([startCase('happy', script()), startCase('refused', script(failForward('charge', 'DECLINED')))]);
    const stuck = await startCase('stuck', script(failForward('charge', 'DECLINED'), failCompensationFirst('create', 3)));
    expect((await api.waitFor(stuck.id, TERMINAL)).status).toBe('failed');

    const page = await signIn('operator');
    await page.locator('tbody tr[data-id]').first().waitFor();
    await shot(page, 'transactions-list');

    await page.getByLabel('Definition', { exact: true }).selectOption(flow);
    await page.getByLabel('Status', { exact: true }).selectOption('failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await onlyRow(page, stuck.id);
    await shot(page, 'transactions-filtered');

    await page.getByRole('link', { name: stuck.id }).click();
    const title = page.getByRole('heading', { level: 1 });
    await title.filter({ hasText: 'failed' }).waitFor();
    await page.locator('svg.dag g[data-step="create"][data-status="compensation_failed"]').waitFor();
    // Who started it: the key the API client used.
    await page.locator('dl.facts', { hasText: `by ${testActor('admin')}` }).waitFor();
    await shot(page, 'transaction-failed');

    await page.getByRole('button', { name: 'Replay failed steps…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await shot(page, 'transaction-replay-dialog');
    await dialog.getByRole('button', { name: 'Replay' }).click();
    // No reload: the page follows the change stream.
    await title.filter({ hasText: 'compensated' }).waitFor({ timeout: 30_000 });
    await page.locator('.timeline li[data-type="operator.retried"]', { hasText: testActor('operator') }).waitFor();
    await shot(page, 'transaction-compensated');
    const retried = (await api.events(stuck.id)).find((e) => e.type === 'operator.retried');
    expect(retried?.actor).toBe(testActor('operator'));

    await page.goto(`${coordinator.url}/#/definitions/${flow}`);
    await page.locator('svg.dag g[data-step="confirm"]').waitFor();
    await shot(page, 'definitions');
    await page.goto(`${coordinator.url}/#/overview`);
    await page.getByRole('heading', { name: 'Participants' }).waitFor();
    await page.getByRole('cell', { name: shop, exact: true }).waitFor();
    await shot(page, 'overview');
    await page.context().close();
  });

  it("draws a transaction's waterfall on one time axis, and the overview's durations and failure rates", async () => {
    const tx = await startCase('slow-charge', script(retryFirst('charge', 'execute', 1)));
    expect((await api.waitFor(tx.id, TERMINAL)).status).toBe('completed');
    const timeline = (await api.request<{ rows: { stepId: string; phase: string }[] }>('GET', `/transactions/${tx.id}/timeline`)).body;
    const page = await signIn('viewer');
    await page.goto(`${coordinator.url}/#/transactions/${tx.id}`);
    const waterfall = page.getByTestId('waterfall');
    const charge = waterfall.locator('g[data-row="charge/execute"]');
    await charge.locator('rect[data-span="success"]').waitFor();
    // One row per step phase, in the order the API gives them.
    const rows = await waterfall.locator('g[data-row]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-row')));
    expect(rows).toEqual(timeline.rows.map((r) => `${r.stepId}/${r.phase}`));
    expect(rows).toEqual(['create/execute', 'reserve/execute', 'charge/execute', 'confirm/execute']);
    // charge: attempt 1 (retry), its backoff, attempt 2 (success), left to right on the one axis
    const bars = await charge
      .locator('rect')
      .evaluateAll((rects) =>
        rects.map((r) => ({ span: r.getAttribute('data-span'), x: Number(r.getAttribute('x')), tip: r.querySelector('title')?.textContent ?? '' })),
      );
    expect(bars.map((b) => b.span)).toEqual(['retry', 'backoff', 'success']);
    expect(bars[0].x).toBeLessThan(bars[1].x);
    expect(bars[1].x).toBeLessThanOrEqual(bars[2].x);
    expect(bars[0].tip).toMatch(
      /^attempt 1: retry — TRANSIENT: scripted transient failure, \d\d:\d\d:\d\d\.\d{3} → \d\d:\d\d:\d\d\.\d{3} \(\d+ ms\)$/,
    );
    expect(bars[2].tip).toMatch(/^attempt 2: success, /);
    // confirm starts after charge ends: later on the axis
    const confirmX = Number(await waterfall.locator('g[data-row="confirm/execute"] rect').first().getAttribute('x'));
    expect(confirmX).toBeGreaterThan(bars[2].x);
    await waterfall.locator('line[data-mark="completed"]').waitFor({ state: 'attached' });
    await shot(page, 'transaction-waterfall');

    await page.goto(`${coordinator.url}/#/overview`);
    const series = page.locator(`table[aria-label="Durations and failure rates"] tbody[data-definition="${flow}"] tr[data-series="charge/execute"]`);
    // The rollup adds ends within seconds; the overview reloads every 5 s.
    await series.waitFor({ timeout: 20_000 });
    // The series may show an earlier transaction's end first: wait for the retried one's.
    await series
      .locator('td')
      .nth(3)
      .filter({ hasText: /^[1-9]\d*$/ })
      .waitFor({ timeout: 20_000 });
    const retries = await series.locator('td').nth(3).textContent();
    expect(Number(retries)).toBeGreaterThanOrEqual(1);
    // The chart of ends, from the same rollup: this file's transactions ended within the hour, drawn in 10-minute buckets.
    await page.getByRole('heading', { name: 'Ended per 10 min, by outcome' }).waitFor();
    await page.locator('svg[aria-label="Transactions ended per 10 min"] rect[data-outcome="completed"]').first().waitFor({ state: 'attached' });
    await shot(page, 'overview-timings');
    await page.context().close();
  });

  it('works with the keyboard alone: filter by id, open, confirm dialogs close on Escape', async () => {
    const stuck = await startCase('keys', script(failForward('charge', 'DECLINED'), failCompensationFirst('create', 1000)));
    expect((await api.waitFor(stuck.id, TERMINAL)).status).toBe('failed');
    const page = await signIn('operator');
    await page.getByLabel('Id', { exact: true }).focus();
    await page.keyboard.type(stuck.id);
    await page.keyboard.press('Enter');
    await onlyRow(page, stuck.id);
    await page.getByRole('link', { name: stuck.id }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1 }).filter({ hasText: 'failed' }).waitFor();
    await page.getByRole('button', { name: 'Resolve create…' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    // The modal dialog holds the focus: tabbing never leaves it.
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      expect(await dialog.locator(':focus').count()).toBe(1);
    }
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect((await api.get(stuck.id)).status).toBe('failed');
    await page.context().close();
  });

  it('finds transactions by their tags, and shows them on the transaction page', async () => {
    const start = async (tags: Record<string, string>) =>
      (await api.request<{ id: string }>('POST', '/transactions', { definition: flow, input: { case: 'tagged' }, tags })).body.id;
    const wanted = await start({ orderId: `o-${suffix}-1`, customer: `ada-${suffix}` });
    await start({ orderId: `o-${suffix}-2`, customer: `ada-${suffix}` });
    const page = await signIn('viewer');
    await page.getByLabel('Tags', { exact: true }).fill(`customer=ada-${suffix}, orderId=o-${suffix}-1`);
    await page.getByLabel('Tags', { exact: true }).press('Enter');
    await onlyRow(page, wanted);
    await page.getByRole('link', { name: wanted }).click();
    await page.locator('dl.facts', { hasText: `orderId=o-${suffix}-1, customer=ada-${suffix}` }).waitFor();
    await page.context().close();
  });

  it('shows a viewer no action, and the API refuses the viewer one', async () => {
    const stuck = await startCase('viewer', script(failForward('charge', 'DECLINED'), failCompensationFirst('create', 1000)));
    expect((await api.waitFor(stuck.id, TERMINAL)).status).toBe('failed');
    const page = await signIn('viewer');
    await page.locator('[data-role="viewer"]').waitFor();
    expect(await page.getByRole('button', { name: /Replay/ }).count()).toBe(0);
    await page.goto(`${coordinator.url}/#/transactions/${stuck.id}`);
    await page.getByRole('heading', { level: 1 }).filter({ hasText: 'failed' }).waitFor();
    await page.locator('.timeline li').first().waitFor();
    await shot(page, 'transaction-viewer');
    expect(await page.getByRole('button', { name: /Replay|Abort|Resolve/ }).count()).toBe(0);
    // The call the operator's button makes, with the viewer's key.
    const refused = await new CoordinatorApi(coordinator.url, 'viewer').request<{ error: { code: string } }>(
      'POST',
      `/transactions/${stuck.id}/retry`,
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    expect((await api.get(stuck.id)).status).toBe('failed');
    await page.context().close();
  });

  it('lets an admin send a test alert to a webhook from the overview, and shows it to no one else', async () => {
    const received: { signature: string | undefined; kind: string }[] = [];
    const receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push({ signature: request.headers['ordo-signature'] as string | undefined, kind: JSON.parse(body).kind });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    // circuit_open only: this run's other coordinators share the schema, and their failures are not this test's.
    const webhook = await api.request<{ id: string }>('POST', '/alerts/webhooks', {
      url,
      secret: `whsec-${suffix}-0123456789`,
      kinds: ['circuit_open'],
    });
    try {
      const page = await signIn('admin');
      await page.goto(`${coordinator.url}/#/overview`);
      const row = page.locator(`tr[data-webhook="${webhook.body.id}"]`);
      await row.getByRole('button', { name: `Send a test alert to ${url}` }).click();
      await row.getByRole('status').filter({ hasText: 'Delivered (HTTP 204)' }).waitFor();
      await shot(page, 'overview-webhooks');
      expect(received).toEqual([{ signature: expect.stringMatching(/^t=\d+,v1=[0-9a-f]{64}$/), kind: 'test' }]);
      await page.context().close();

      const operator = await signIn('operator');
      await operator.goto(`${coordinator.url}/#/overview`);
      await operator.getByRole('heading', { name: 'Participants' }).waitFor();
      expect(await operator.getByRole('heading', { name: 'Alert webhooks' }).count()).toBe(0);
      await operator.context().close();
    } finally {
      await api.request('DELETE', `/alerts/webhooks/${webhook.body.id}`);
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('runs under a strict Content-Security-Policy that refuses what the dashboard does not need', async () => {
    const page = await signIn('viewer');
    const index = await page.goto(coordinator.url);
    const csp = index!.headers()['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(index!.headers()['x-powered-by']).toBeUndefined();
    await page.getByRole('heading', { name: 'Transactions' }).waitFor();
    // The policy is enforced: an injected inline script does not run, and is reported.
    const ran = await page.evaluate(`(() => {
      const script = document.createElement('script');
      script.textContent = 'window.injected = true';
      document.head.append(script);
      return window.injected ?? false;
    })()`);
    expect(ran).toBe(false);
    await waitFor('the refusal reported', async () => (refusals.seen.length > 0 ? true : undefined), 5_000);
    expect(refusals.take().join('\n')).toMatch(/inline script/);
    await page.context().close();
  });

  it('serves the dashboard beside the API, and tells a key its role', async () => {
    const index = await fetch(`${coordinator.url}/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<div id="root">');
    // The API keeps its own answers: no page instead of a JSON 404, no page without a key.
    const missing = await new CoordinatorApi(coordinator.url).request<{ error: { code: string } }>('GET', '/no-such-route');
    expect(missing.status).toBe(404);
    expect((await new CoordinatorApi(coordinator.url, null).request('GET', '/transactions/stream')).status).toBe(401);
    expect((await new CoordinatorApi(coordinator.url, 'viewer').request('GET', '/auth/me')).body).toEqual({
      name: testActor('viewer'),
      role: 'viewer',
    });
  });

  it('serves the first page of 10,000 transactions quickly (prints the figure)', async () => {
    const bulk = { ...definition, name: `${flow}-bulk` };
    await api.register(bulk);
    await insertFinishedTransactions(testEnv().databaseUrl, {
      schema: 'ordo',
      definition: { name: bulk.name, version: 1, steps: bulk.steps },
      count: 10_000,
      eventsPerTransaction: 3,
      finishedAgoMs: 1000,
      seed: `dash-${suffix}`,
    });
    const timings: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const { status } = await api.request('GET', `/transactions?limit=25`);
      timings.push(performance.now() - started);
      expect(status).toBe(200);
    }
    const filtered = performance.now();
    await api.request('GET', `/transactions?definition=${bulk.name}&status=compensated&limit=25`);
    const filteredMs = performance.now() - filtered;
    const countsStarted = performance.now();
    await api.request('GET', '/transactions/counts');
    const countsMs = performance.now() - countsStarted;

    const page = await signIn('viewer');
    const rendered = performance.now();
    await page.goto(`${coordinator.url}/#/transactions`);
    await page.reload();
    await page.locator('tbody tr[data-id]').first().waitFor();
    const renderedMs = performance.now() - rendered;
    await shot(page, 'transactions-10k');
    await page.context().close();

    timings.sort((a, b) => a - b);
    const median = timings[Math.floor(timings.length / 2)];
    process.stdout.write(
      `[dashboard] 10,000+ transactions: first page (25 rows) median ${median.toFixed(1)} ms, max ${timings.at(-1)!.toFixed(1)} ms over 20; ` +
        `filtered ${filteredMs.toFixed(1)} ms; counts ${countsMs.toFixed(1)} ms; list page in the browser ${renderedMs.toFixed(0)} ms\n`,
    );
  });

  it('streams changes as they happen, and ends open streams when it shuts down', async () => {
    const stream = await fetch(`${coordinator.url}/api/v1/transactions/stream`, { headers: { authorization: `Bearer ${TEST_KEYS.viewer}` } });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    const tx = await startCase('streamed', script());
    let received = '';
    while (!received.includes(tx.id)) received += (await reader.read()).value ?? '';
    expect(received).toMatch(/^data: \{"changes":\[/m);

    const stopping = Date.now();
    await coordinator.stop();
    expect(Date.now() - stopping).toBeLessThan(15_000);
    for (;;) if ((await reader.read()).done) break;
  });
});
