import { randomBytes, randomUUID } from 'crypto';
import { Browser, Page } from 'playwright-core';
import { waitFor } from '../../tools/infra/proc';
import { testActor } from '../support/auth';
import { CspRefusals, launchBrowser, shot, signIn } from '../support/browser';
import { CoordinatorApi, EventView, TxView } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

/**
 * The dashboard's operator actions beyond replay, abort and resolve, in a real browser
 * (Debian's Chromium) against a real coordinator: pause and resume a transaction, retry a
 * step now, edit a step's input and retry it, skip a step with an output, and pause and resume a participant on the
 * overview. Nobody consumes the commands: the steps wait as each test needs. Every action
 * is checked in the page's history, with the operator as its actor.
 */
describe('dashboard operator actions', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const quiet = `dash-quiet-${suffix}`;
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}dashboard-actions.`, DATABASE_SCHEMA: 'ordo_dashboard_actions', PAUSE_REFRESH_MS: '200' };
  let coordinator: RunningApp;
  let api: CoordinatorApi;
  let browser: Browser;
  const refusals = new CspRefusals();

  /** a → b; attempts of `timeoutMs`, then a minute until the retry. */
  const definition = (name: string, timeoutMs: number) => ({
    name,
    type: 'saga',
    defaults: { timeoutMs, retry: { maxAttempts: 3, initialDelayMs: 60_000, multiplier: 1, maxDelayMs: 60_000, jitter: 'none' } },
    steps: [
      { id: 'a', participant: quiet, action: 'do-a', compensation: 'undo-a' },
      { id: 'b', participant: quiet, action: 'do-b', compensation: 'undo-b', dependsOn: ['a'], input: { v: '$.steps.a.output.v' } },
    ],
  });
  const slow = `dash-slow-${suffix}`;
  const backoff = `dash-backoff-${suffix}`;

  const openTransaction = async (id: string): Promise<Page> => {
    const page = await signIn(browser, coordinator.url, 'operator', refusals);
    await page.goto(`${coordinator.url}/#/transactions/${id}`);
    await page.getByRole('heading', { level: 1 }).filter({ hasText: id }).waitFor();
    return page;
  };
  /** Confirms the open dialog with its button `label`, after an optional note. */
  const confirm = async (page: Page, label: string, note?: string) => {
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    if (note) await dialog.getByLabel(/^Note/).fill(note);
    await dialog.getByRole('button', { name: label, exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
  };
  const historyEntry = (page: Page, type: string) =>
    page.locator(`.timeline li[data-type="${type}"]`, { hasText: testActor('operator') }).waitFor({ timeout: 15_000 });

  beforeAll(async () => {
    coordinator = await startApp('coordinator', world);
    api = new CoordinatorApi(coordinator.url);
    await api.register(definition(slow, 60_000));
    await api.register(definition(backoff, 300));
    browser = await launchBrowser();
  });

  afterEach(() => expect(refusals.take()).toEqual([]));

  afterAll(async () => {
    await browser?.close();
    await coordinator?.stop();
  });

  it('pauses a transaction and resumes it', async () => {
    const tx = await api.start(slow, {});
    const page = await openTransaction(tx.id);
    await page.getByRole('button', { name: 'Pause…' }).click();
    await confirm(page, 'Pause', 'looking into it');
    await page.locator('dd[data-paused]', { hasText: `by ${testActor('operator')}` }).waitFor();
    await historyEntry(page, 'operator.paused');
    await page.locator('.timeline li[data-type="operator.paused"]', { hasText: 'looking into it' }).waitFor();
    await shot(page, 'transaction-paused');

    await page.getByRole('button', { name: 'Resume…' }).click();
    await confirm(page, 'Resume');
    await historyEntry(page, 'operator.resumed');
    await page.locator('.timeline li[data-type="transaction.resumed"]').waitFor();
    expect(await page.locator('dd[data-paused]').count()).toBe(0);
    expect(((await api.get(tx.id)) as TxView & { paused: unknown }).paused).toBeNull();
  });

  it('retries a step now, skipping the rest of its backoff', async () => {
    const tx = await api.start(backoff, {});
    // Its first attempt times out after 300 ms; the retry waits a minute.
    await waitFor(
      'a retry scheduled',
      async () => ((await api.events(tx.id)).some((e: EventView) => e.type === 'step.retry_scheduled') ? true : undefined),
      15_000,
    );
    const page = await openTransaction(tx.id);
    await page.getByRole('button', { name: 'Retry a now…' }).click();
    await shot(page, 'transaction-retry-now-dialog');
    await confirm(page, 'Retry now', 'the partner is back');
    await historyEntry(page, 'operator.retried_now');
    await page.locator('tr[data-step="a"]', { hasText: 'execute #2' }).waitFor();
  });

  it("edits a step's input and retries it: the dialog starts from its current input, the history shows the old and the new", async () => {
    const tx = await api.start(backoff, { sku: 'BAD' });
    await waitFor(
      'a retry scheduled',
      async () => ((await api.events(tx.id)).some((e: EventView) => e.type === 'step.retry_scheduled') ? true : undefined),
      15_000,
    );
    const page = await openTransaction(tx.id);
    await page.getByRole('button', { name: 'Edit input of a and retry…' }).click();
    const dialog = page.getByRole('dialog');
    const input = dialog.getByLabel(/^Input/);
    await waitFor('the current input', async () => (JSON.parse((await input.inputValue()) || 'null')?.sku === 'BAD' ? true : undefined), 5_000);
    await dialog.getByLabel(/^Note/).fill('typo in the sku, OPS-9');
    await input.fill('not json');
    expect(await dialog.getByRole('button', { name: 'Save and retry', exact: true }).isDisabled()).toBe(true);
    await input.fill('{"sku": "GOOD"}');
    await shot(page, 'transaction-edit-input-dialog');
    await confirm(page, 'Save and retry');
    await historyEntry(page, 'operator.input_edited');
    await page.locator('.timeline li[data-type="operator.input_edited"]', { hasText: '{"sku":"BAD"} → {"sku":"GOOD"}' }).waitFor();
    await page.locator('tr[data-step="a"]', { hasText: 'execute #2' }).waitFor();
    await page.locator('tr[data-step="a"] [data-edited-input]', { hasText: 'GOOD' }).waitFor();
    await shot(page, 'transaction-input-edited');
    expect((await api.get(tx.id)).steps.find((s) => s.id === 'a')).toMatchObject({ attempt: 2, input: { sku: 'GOOD' } });
  });

  it('skips a step with the output an operator gives, and its dependent runs', async () => {
    const tx = await api.start(slow, {});
    const page = await openTransaction(tx.id);
    await page.getByRole('button', { name: 'Skip a…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/^Output/).fill('[1]');
    await dialog.getByLabel(/^Note/).fill('done by hand, OPS-7');
    // Not a JSON object: it cannot be confirmed.
    expect(await dialog.getByRole('button', { name: 'Skip', exact: true }).isDisabled()).toBe(true);
    await dialog.getByLabel(/^Output/).fill('{"v": 7}');
    await confirm(page, 'Skip');
    await historyEntry(page, 'operator.skipped');
    await page.locator('svg.dag g[data-step="a"][data-status="succeeded"]').waitFor();
    await page.locator('tr[data-step="b"]', { hasText: 'execute #1' }).waitFor();
    await shot(page, 'transaction-skipped');
    const after = await api.get(tx.id);
    expect(after.steps.find((s) => s.id === 'a')?.output).toEqual({ v: 7 });
  });

  it('runs a bulk action on the transactions matching the filter: counted first, then followed to its end', async () => {
    const ids = await Promise.all(
      [1, 2, 3].map(
        async () => (await api.request<TxView>('POST', '/transactions', { definition: slow, input: {}, tags: { bulkui: suffix } })).body.id,
      ),
    );
    const page = await signIn(browser, coordinator.url, 'operator', refusals);
    await page.getByLabel('Tags').fill(`bulkui=${suffix}`);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('button', { name: 'Bulk action on matching…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Action').selectOption('pause');
    await dialog.getByLabel(/^Note/).fill('partner outage');
    expect(await dialog.getByRole('button', { name: 'Run (count first)' }).isDisabled()).toBe(true);
    await dialog.getByRole('button', { name: 'Count matching' }).click();
    await dialog.getByRole('status').filter({ hasText: '3 transaction(s) match' }).waitFor();
    await shot(page, 'bulk-action-dry-run');
    await dialog.getByRole('button', { name: 'Run on 3 transaction(s)' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('tr[data-bulk][data-status="done"]', { hasText: '3 / 3 gone through, 3 applied' }).waitFor({ timeout: 15_000 });
    await shot(page, 'bulk-action-done');
    for (const id of ids) expect(((await api.get(id)) as TxView & { paused: { actor: string } }).paused.actor).toBe(testActor('operator'));
  });

  it('pauses a participant on the overview, shows it, and resumes it with the transactions that waited', async () => {
    const page = await signIn(browser, coordinator.url, 'operator', refusals);
    await page.goto(`${coordinator.url}/#/overview`);
    await page.getByLabel('Participant to pause').fill(quiet);
    await page.getByRole('form', { name: 'Pause a participant' }).getByRole('button', { name: 'Pause…' }).click();
    await confirm(page, 'Pause', 'maintenance');
    await page
      .getByRole('status')
      .filter({ hasText: `${quiet} paused` })
      .waitFor();
    const tx = await api.start(slow, {});
    expect((tx as TxView & { paused: { participants: string[] } }).paused.participants).toEqual([quiet]);

    await page.reload();
    await page.locator('td[data-paused="yes"]', { hasText: testActor('operator') }).waitFor();
    await shot(page, 'overview-participant-paused');
    await page.getByRole('button', { name: `Resume ${quiet}…` }).click();
    await confirm(page, 'Resume');
    await page
      .getByRole('status')
      .filter({ hasText: `${quiet} resumed, and 1 transaction(s)` })
      .waitFor();
    expect(((await api.get(tx.id)) as TxView & { paused: unknown }).paused).toBeNull();
  });

  it('lists prepared work in doubt and asks its participant to finish it', async () => {
    // A participant's report, as the SDK sends it: a prepared transaction the coordinator has no transaction for.
    const reporter = new CoordinatorApi(coordinator.url, 'participant');
    const txId = randomUUID();
    const item = {
      gid: `ordo:${quiet}:${txId}:a`,
      txId,
      stepId: 'a',
      xid: '4242',
      preparedAt: new Date(Date.now() - 90_000).toISOString(),
      relations: ['shop.stock'],
      waiters: 3,
    };
    const report = () =>
      reporter.request<{ finish: { txId: string; stepId: string }[] }>('PUT', `/participants/${quiet}/prepared`, {
        instance: 'quiet-1',
        items: [item],
      });
    expect((await report()).body.finish).toEqual([]);

    const page = await signIn(browser, coordinator.url, 'operator', refusals);
    await page.goto(`${coordinator.url}/#/in-doubt`);
    const row = page.locator('tr[data-verdict="missing"]', { hasText: txId });
    await row.getByText('no such transaction (presumed abort) — should have been finished').waitFor();
    await row.getByText('shop.stock').waitFor();
    await shot(page, 'in-doubt');
    await row.getByRole('button', { name: 'Finish now…' }).click();
    await confirm(page, 'Roll it back now', 'stray prepare');
    await page
      .getByRole('status')
      .filter({ hasText: `${quiet} asked to finish ${txId}/a` })
      .waitFor();
    await row.getByText(`finish asked by ${testActor('operator')}`).waitFor();
    // Handed to the participant with the answer to its next report.
    expect((await report()).body.finish).toEqual([{ txId, stepId: 'a' }]);
  });
});
