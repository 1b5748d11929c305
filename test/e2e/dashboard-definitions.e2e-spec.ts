import { randomBytes } from 'crypto';
import { Browser } from 'playwright-core';
import { CspRefusals, launchBrowser, shot, signIn } from '../support/browser';
import { CoordinatorApi } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

/**
 * A definition's versions side by side in a real browser against a real coordinator: each
 * version with the transactions that run it, and the diff between two picked versions.
 * Nobody consumes the commands: the transactions started stay running.
 */
describe('dashboard definitions', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const name = `dash-versions-${suffix}`;
  const participant = `dash-versions-quiet-${suffix}`;
  let coordinator: RunningApp;
  let browser: Browser;
  const refusals = new CspRefusals();

  const v1 = {
    name,
    type: 'saga',
    defaults: { timeoutMs: 60_000 },
    steps: [
      { id: 'a', participant, action: 'do-a', compensation: 'undo-a' },
      { id: 'b', participant, action: 'do-b', compensation: 'undo-b', dependsOn: ['a'] },
    ],
  };
  const v2 = { ...v1, steps: [v1.steps[0], { ...v1.steps[1], timeoutMs: 9000 }, { id: 'c', participant, action: 'do-c', dependsOn: ['b'] }] };

  beforeAll(async () => {
    coordinator = await startApp('coordinator', {
      KAFKA_TOPIC_PREFIX: `${env.topicPrefix}dashboard-definitions.`,
      DATABASE_SCHEMA: 'ordo_dashboard_definitions',
    });
    const api = new CoordinatorApi(coordinator.url);
    await api.register(v1);
    await api.register(v2);
    for (const version of [1, 1, 2]) {
      expect((await api.request('POST', '/transactions', { definition: name, version, input: {} })).status).toBe(201);
    }
    browser = await launchBrowser();
  });

  afterEach(() => expect(refusals.take()).toEqual([]));

  afterAll(async () => {
    await browser?.close();
    await coordinator?.stop();
  });

  it('shows each version with its running transactions, and the diff between two versions step by step', async () => {
    const page = await signIn(browser, coordinator.url, 'viewer', refusals);
    await page.goto(`${coordinator.url}/#/definitions/${name}`);
    await page.locator('tr[data-version="2"] td[data-running]', { hasText: /^1$/ }).waitFor();
    await page.locator('tr[data-version="1"] td[data-running]', { hasText: /^2$/ }).waitFor();
    const diff = page.getByRole('list', { name: 'Changes from v1 to v2' });
    await diff.locator('li[data-step="c"][data-kind="added"]').waitFor();
    await diff.locator('li[data-step="b"][data-kind="changed"] li[data-path="timeoutMs"]', { hasText: '9000' }).waitFor();
    await shot(page, 'definition-diff');

    // Picked the other way round: c is removed.
    await page.getByLabel('From version').selectOption('2');
    await page.getByLabel('To version').selectOption('1');
    await page.getByRole('list', { name: 'Changes from v2 to v1' }).locator('li[data-step="c"][data-kind="removed"]').waitFor();
  });
});
