import { Io, run } from './program';

type Route = (request: Request) => { status: number; body?: unknown };

/** Runs the CLI against an in-memory API answering with `route`; records what it sent and printed. */
async function cli(args: string[], route: Route, env: NodeJS.ProcessEnv = {}) {
  const sent: { method: string; url: string; body: unknown; authorization: string | null }[] = [];
  let out = '';
  let err = '';
  const io: Io = {
    out: (text) => (out += text),
    err: (text) => (err += text),
    env,
    read: (path) => {
      if (path === 'order.json') return '{"sku":"SKU-1"}';
      throw new Error('ENOENT: no such file');
    },
    fetch: (async (input: Request) => {
      const text = await input.text();
      sent.push({
        method: input.method,
        url: input.url,
        body: text ? JSON.parse(text) : undefined,
        authorization: input.headers.get('authorization'),
      });
      const { status, body } = route(input);
      return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch,
  };
  const code = await run(args, io);
  return { code, out, err, sent };
}

const tx = (status: string) => ({
  id: '0b6f2c4e-8f1a-4d55-9a3e-2f7c1d9e8a10',
  definition: { name: 'place-order', version: 2 },
  type: 'saga',
  status,
  input: {},
  createdAt: '2026-12-01T10:00:00.000Z',
  updatedAt: '2026-12-01T10:00:01.000Z',
  startedBy: 'ci',
  steps: [
    {
      id: 'charge',
      participant: 'payment',
      status: 'failed',
      phase: 'execute',
      attempt: 1,
      attemptsLeft: 0,
      lastError: { code: 'DECLINED', message: 'card declined' },
    },
  ],
  ignoredReplies: 0,
});

describe('ordo CLI', () => {
  it('starts with the input file, key and wait, from the environment’s URL and key', async () => {
    const { code, out, sent } = await cli(
      ['tx', 'start', 'place-order', '--input', '@order.json', '-k', 'order-7', '--wait', '5s'],
      () => ({ status: 201, body: tx('completed') }),
      { ORDO_URL: 'http://ordo.internal:3000/', ORDO_API_KEY: 'secret-key' },
    );
    expect(code).toBe(0);
    expect(sent).toEqual([
      {
        method: 'POST',
        url: 'http://ordo.internal:3000/api/v1/transactions?waitMs=5000',
        body: { definition: 'place-order', input: { sku: 'SKU-1' }, idempotencyKey: 'order-7' },
        authorization: 'Bearer secret-key',
      },
    ]);
    expect(out).toMatch(/^status\s+completed$/m);
    expect(out).toMatch(/^charge\s+payment\s+failed\s+execute\s+1\s+DECLINED: card declined$/m);
  });

  it('starts with business keys, and lists by them', async () => {
    const started = await cli(['tx', 'start', 'place-order', '--tag', 'orderId=o-1', '-t', 'note=a=b'], () => ({
      status: 201,
      body: { ...tx('running'), tags: { orderId: 'o-1', note: 'a=b' } },
    }));
    expect(started.code).toBe(0);
    expect(started.sent[0].body).toEqual({ definition: 'place-order', input: {}, tags: { orderId: 'o-1', note: 'a=b' } });
    expect(started.out).toMatch(/^tags\s+orderId=o-1, note=a=b$/m);

    const listed = await cli(['tx', 'list', '--tag', 'orderId=o-1', '--tag', 'customer=ada', '--status', 'running', '--paused'], () => ({
      status: 200,
      body: { items: [], nextCursor: null },
    }));
    expect(listed.code).toBe(0);
    const url = new URL(listed.sent[0].url);
    expect(url.pathname).toBe('/api/v1/transactions');
    expect(url.searchParams.getAll('tag')).toEqual(['orderId:o-1', 'customer:ada']);
    expect(url.searchParams.get('status')).toBe('running');
    expect(url.searchParams.get('paused')).toBe('true');
  });

  it.each([
    ['compensated', 3],
    ['failed', 4],
  ])('exits with the code of a waited transaction that ended %s', async (status, exit) => {
    expect((await cli(['tx', 'start', 'place-order', '--wait', '2s'], () => ({ status: 201, body: tx(status) }))).code).toBe(exit);
  });

  it('exits 5 when the wait ran out, after long-polling the transaction', async () => {
    const { code, sent } = await cli(['tx', 'start', 'place-order', '--wait', '30ms'], (request) =>
      request.method === 'POST' ? { status: 202, body: tx('running') } : { status: 200, body: tx('running') },
    );
    expect(code).toBe(5);
    expect(sent[0].url).toMatch(/\?waitMs=30$/);
    expect(sent.slice(1).every((s) => s.method === 'GET' && /\/transactions\/0b6f2c4e-8f1a-4d55-9a3e-2f7c1d9e8a10\?waitMs=\d+$/.test(s.url))).toBe(
      true,
    );
  });

  it('does not wait, nor read the outcome into the exit code, without --wait', async () => {
    const { code, sent } = await cli(['tx', 'show', 'abc', '--json'], () => ({ status: 200, body: tx('failed') }));
    expect(code).toBe(0);
    expect(sent[0].url).toBe('http://localhost:3000/api/v1/transactions/abc');
  });

  it('resolves a step with the outcome and note', async () => {
    const { code, sent } = await cli(['tx', 'resolve', 'tx-1', 'charge', '--outcome', 'compensated', '--note', 'refunded, OPS-42'], () => ({
      status: 200,
      body: tx('compensated'),
    }));
    expect(code).toBe(0);
    expect(sent[0]).toMatchObject({
      method: 'POST',
      url: expect.stringMatching(/\/transactions\/tx-1\/steps\/charge\/resolve$/),
      body: { outcome: 'compensated', note: 'refunded, OPS-42' },
    });
  });

  it.each([
    [['tx', 'pause', 'tx-1', '--note', 'look'], '/transactions/tx-1/pause', { note: 'look' }],
    [['tx', 'resume', 'tx-1'], '/transactions/tx-1/resume', {}],
    [['tx', 'retry-now', 'tx-1', 'charge'], '/transactions/tx-1/steps/charge/retry-now', {}],
    [
      ['tx', 'attempts', 'tx-1', 'charge', '--left', '0', '--note', 'stop'],
      '/transactions/tx-1/steps/charge/attempts',
      { attemptsLeft: 0, note: 'stop' },
    ],
    [
      ['tx', 'skip', 'tx-1', 'charge', '-o', '{"chargeId":"c-1"}', '--note', 'by hand'],
      '/transactions/tx-1/steps/charge/skip',
      { output: { chargeId: 'c-1' }, note: 'by hand' },
    ],
    [['tx', 'fail', 'tx-1', 'charge', '--note', 'partner gone'], '/transactions/tx-1/steps/charge/fail', { note: 'partner gone' }],
    [
      ['tx', 'edit-retry', 'tx-1', 'charge', '-i', '{"amount":5}', '--note', 'wrong amount'],
      '/transactions/tx-1/steps/charge/edit-and-retry',
      { input: { amount: 5 }, note: 'wrong amount' },
    ],
  ])('sends an operator action: %j', async (args, path, body) => {
    const { code, out, sent } = await cli(args, () => ({
      status: 200,
      body: { ...tx('running'), paused: { since: '2026-12-01T10:00:02.000Z', actor: 'ops', participants: ['payment'] } },
    }));
    expect(code).toBe(0);
    expect(sent).toEqual([expect.objectContaining({ method: 'POST', url: `http://localhost:3000/api/v1${path}`, body })]);
    expect(out).toMatch(/^paused\s+since 2026-12-01T10:00:02.000Z by ops, participant payment$/m);
  });

  it('pauses and resumes by filter, and pauses, lists and resumes a participant', async () => {
    const paused = await cli(['tx', 'pause-all', '--definition', 'place-order', '-t', 'customer=ada', '--limit', '10'], () => ({
      status: 200,
      body: { paused: 3 },
    }));
    expect(paused.sent[0]).toMatchObject({
      url: 'http://localhost:3000/api/v1/transactions/pause',
      body: { definition: 'place-order', tag: ['customer:ada'], limit: 10 },
    });
    expect(paused.out).toBe('3 paused\n');
    expect((await cli(['tx', 'resume-all', '--note', 'back'], () => ({ status: 200, body: { resumed: 3 } }))).out).toBe('3 resumed\n');

    const pause = await cli(['participants', 'pause', 'inventory', '--note', 'upgrade'], () => ({
      status: 200,
      body: { since: '2026-12-01T10:00:00.000Z', by: 'ops', note: 'upgrade' },
    }));
    expect(pause.sent[0]).toMatchObject({ url: 'http://localhost:3000/api/v1/participants/inventory/pause', body: { note: 'upgrade' } });
    expect(pause.out).toBe('inventory paused since 2026-12-01T10:00:00.000Z\n');
    const listed = await cli(['participants', 'list'], () => ({
      status: 200,
      body: {
        items: [
          {
            participant: 'inventory',
            circuit: 'closed',
            inFlight: 0,
            failureRatio: 0,
            paused: { since: '2026-12-01T10:00:00.000Z', by: 'ops', note: null },
            adaptiveTimeouts: [],
          },
          {
            participant: 'payment',
            circuit: 'closed',
            inFlight: 2,
            failureRatio: 0,
            paused: null,
            adaptiveTimeouts: [
              { minMs: 200, maxMs: 5000, percentile: 99, factor: 2, timeoutMs: 412, percentileMs: 206, samples: 200 },
              { minMs: 100, maxMs: 900, percentile: 90, factor: 3, timeoutMs: 900, percentileMs: null, samples: 12 },
            ],
          },
        ],
      },
    }));
    expect(listed.out).toMatch(/^inventory\s+closed\s+0\s+0\s+-\s+since 2026-12-01T10:00:00.000Z by ops$/m);
    expect(listed.out).toMatch(/^payment\s+closed\s+2\s+0\s+412 ms = 2 × p99 206 ms \(200 replies\); 900 ms = max \(12 replies\)\s+-$/m);
    const resumed = await cli(['participants', 'resume', 'inventory'], () => ({ status: 200, body: { participant: 'inventory', resumed: 50 } }));
    expect(resumed.out).toBe('inventory resumed, and 50 transactions that waited for it\n');
  });

  it("prints the timing statistics and a transaction's waterfall", async () => {
    const p = (n: number) => ({ p50: n, p95: n * 2, p99: n * 3, max: n * 4 });
    const stats = await cli(['stats', '--window', '15', '--definition', 'place-order'], () => ({
      status: 200,
      body: {
        from: '2026-12-01T10:00:00.000Z',
        windowMinutes: 15,
        bucketSeconds: 60,
        definitions: [
          {
            name: 'place-order',
            transactions: { ended: 10, completed: 9, compensated: 1, failed: 0, failureRate: 0.1, durationMs: p(40) },
            steps: [{ stepId: 'charge', phase: 'execute', count: 10, failures: 1, failureRate: 0.1, retries: 2, durationMs: p(8), totalMs: p(9) }],
          },
        ],
      },
    }));
    expect(stats.sent[0].url).toBe('http://localhost:3000/api/v1/stats/definitions?windowMinutes=15&definition=place-order');
    expect(stats.out).toMatch(/^place-order\s+10\s+10\.0 %\s+-\s+40\s+80\s+120\s+160$/m);
    expect(stats.out).toMatch(/^ {2}charge · execute\s+10\s+10\.0 %\s+2\s+8\s+16\s+24\s+32$/m);

    const timeline = await cli(['tx', 'timeline', 'a1b2'], () => ({
      status: 200,
      body: {
        start: '2026-12-01T10:00:00.000Z',
        end: null,
        truncated: false,
        marks: [],
        rows: [
          {
            stepId: 'charge',
            phase: 'execute',
            spans: [
              { kind: 'attempt', attempt: 1, start: '2026-12-01T10:00:00.100Z', end: '2026-12-01T10:00:00.200Z', outcome: 'retry' },
              { kind: 'backoff', attempt: 2, start: '2026-12-01T10:00:00.200Z', end: '2026-12-01T10:00:00.300Z' },
            ],
          },
        ],
      },
    }));
    expect(timeline.sent[0].url).toBe('http://localhost:3000/api/v1/transactions/a1b2/timeline');
    expect(timeline.out).toMatch(/^charge\s+execute\s+attempt 1\s+2026-12-01T10:00:00.100Z\s+2026-12-01T10:00:00.200Z\s+retry$/m);
    expect(timeline.out).toMatch(/^charge\s+execute\s+backoff 2\s+2026-12-01T10:00:00.200Z\s+2026-12-01T10:00:00.300Z\s+-$/m);
  });

  it('lists the prepared work in doubt and asks to finish one', async () => {
    const work = {
      participant: 'payment',
      txId: 'tx-1',
      stepId: 'charge',
      gid: 'ordo:payment:tx-1:charge',
      xid: '812',
      preparedAt: '2026-12-01T10:00:00.000Z',
      heldMs: 42_400,
      relations: ['payment.accounts'],
      waiters: 2,
      verdict: 'commit',
      shouldBeFinished: true,
      reportedBy: 'pay-1',
      reportedAt: '2026-12-01T10:00:42.000Z',
      finishRequestedBy: null,
      finishRequestedAt: null,
    };
    const listed = await cli(['in-doubt', 'list'], () => ({ status: 200, body: { items: [work] } }));
    expect(listed.out).toMatch(/^payment\s+tx-1\s+charge\s+commit\s+overdue\s+42 s\s+payment\.accounts\s+2\s+-$/m);
    const finished = await cli(['in-doubt', 'finish', 'payment', 'tx-1', 'charge', '--note', 'OPS-7'], () => ({
      status: 202,
      body: { ...work, finishRequestedBy: 'ops' },
    }));
    expect(finished.sent[0]).toMatchObject({ url: 'http://localhost:3000/api/v1/in-doubt/payment/tx-1/charge/finish', body: { note: 'OPS-7' } });
    expect(finished.out).toBe('payment asked to commit tx-1/charge on its next report\n');
  });

  it('counts a bulk action first, then runs it and follows it to its end', async () => {
    const dry = await cli(
      ['bulk', 'run', 'skip', '--step', 'charge', '-o', '{"id":1}', '--note', 'by hand', '-t', 'customer=ada', '--dry-run'],
      () => ({
        status: 200,
        body: { matched: 7 },
      }),
    );
    expect(dry.sent[0]).toMatchObject({
      url: 'http://localhost:3000/api/v1/bulk-actions',
      body: { action: 'skip', stepId: 'charge', output: { id: 1 }, note: 'by hand', tag: ['customer:ada'], dryRun: true },
    });
    expect(dry.out).toBe('7 transactions match\n');
    const run = { id: 'b-1', action: 'pause', params: {}, filter: {}, actor: 'ops', matched: 7, applied: 7, createdAt: '2026-12-03T07:00:00.000Z' };
    const waited = await cli(['bulk', 'run', 'pause', '--wait'], (request) =>
      request.method === 'POST'
        ? { status: 202, body: { ...run, status: 'running', processed: 0 } }
        : { status: 200, body: { ...run, status: 'done', processed: 7 } },
    );
    expect(waited.sent.map((s) => s.method)).toEqual(['POST', 'GET']);
    expect(waited.out).toMatch(/^progress\s+7 \/ 7 gone through, 7 applied$/m);
  });

  it('prints the API’s JSON with --json', async () => {
    const { out } = await cli(['--json', 'tx', 'list', '--status', 'failed'], () => ({
      status: 200,
      body: { items: [tx('failed')], nextCursor: null },
    }));
    expect(JSON.parse(out).items[0].status).toBe('failed');
  });

  it.each([
    [['tx', 'start', 'x', '--input', '[1]'], /the input must be a JSON object/],
    [['tx', 'start', 'x', '--input', '@missing.json'], /cannot read missing.json/],
    [['tx', 'start', 'x', '--wait', 'soon'], /"soon" is not a duration/],
    [['tx', 'resolve', 'a', 'b', '--outcome', 'compensated'], /required option '--note <text>'/],
    [['tx', 'list', '--limit', '0'], /"0" is not a whole number from 1/],
    [['tx', 'list', '--tag', 'orderId'], /"orderId" is not key=value/],
    [['tx', 'attempts', 'a', 'b', '--left', '-1'], /"-1" is not a whole number from 0/],
    [['tx', 'skip', 'a', 'b', '--output', '{}'], /required option '--note <text>'/],
    [['tx', 'edit-retry', 'a', 'b', '-i', '[1]', '--note', 'x'], /the input must be a JSON object/],
    [['tx', 'edit-retry', 'a', 'b', '-i', '{}'], /required option '--note <text>'/],
    [['tx', 'start', 'x', '--tag', '=1'], /"=1" is not key=value/],
    [['nonsense'], /unknown command 'nonsense'/],
  ])('exits 2 on a usage mistake: %j', async (args, message) => {
    const { code, err, sent } = await cli(args, () => ({ status: 500 }));
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(sent).toEqual([]);
  });

  it('shows a definition with its versions and their running transactions, and diffs two versions', async () => {
    const stored = {
      name: 'place-order',
      version: 2,
      type: 'saga',
      createdAt: '2026-12-01T10:00:00.000Z',
      registeredBy: 'ops',
      definition: { name: 'place-order', type: 'saga', steps: [] },
    };
    const versions = {
      items: [
        { version: 2, createdAt: '2026-12-01T10:00:00.000Z', registeredBy: 'ops', running: 3 },
        { version: 1, createdAt: '2026-11-01T10:00:00.000Z', registeredBy: null, running: 0 },
      ],
    };
    const show = await cli(['definitions', 'show', 'place-order'], (request) => ({
      status: 200,
      body: request.url.endsWith('/versions') ? versions : stored,
    }));
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/^v2\s+2026-12-01T10:00:00.000Z\s+ops\s+3$/m);
    expect(show.out).toMatch(/^v1\s+2026-11-01T10:00:00.000Z\s+\S*\s*0$/m);

    const diff = {
      name: 'place-order',
      from: 1,
      to: 2,
      fields: [{ path: 'timeoutMs', kind: 'changed', from: 30000, to: 60000 }],
      steps: [
        { id: 'charge', kind: 'added', fields: [{ path: 'action', kind: 'added', to: 'charge' }] },
        { id: 'reserve', kind: 'changed', fields: [{ path: 'dependsOn', kind: 'changed', from: ['create'], to: ['create', 'charge'] }] },
      ],
    };
    const { code, out, sent } = await cli(['definitions', 'diff', 'place-order', '1', '2'], () => ({ status: 200, body: diff }));
    expect(code).toBe(0);
    expect(sent[0].url).toBe('http://localhost:3000/api/v1/definitions/place-order/diff?from=1&to=2');
    expect(out).toBe(
      [
        'place-order v1 → v2',
        '  ~ timeoutMs: 30000 → 60000',
        '  + step charge',
        '      + action: "charge"',
        '  ~ step reserve',
        '      ~ dependsOn: ["create"] → ["create","charge"]',
        '',
      ].join('\n'),
    );
  });

  it('exits 1 with the API’s code and message when it refuses', async () => {
    const { code, err } = await cli(['definitions', 'show', 'nope'], () => ({
      status: 404,
      body: { error: { code: 'DEFINITION_NOT_FOUND', message: 'no definition nope' } },
    }));
    expect(code).toBe(1);
    expect(err).toBe('ordo: DEFINITION_NOT_FOUND: no definition nope\n');
  });

  it('exits 1 when the coordinator cannot be reached', async () => {
    const { code, err } = await cli(['tx', 'list'], () => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:3000') });
    });
    expect(code).toBe(1);
    expect(err).toBe('ordo: UNREACHABLE: the coordinator could not be reached: connect ECONNREFUSED 127.0.0.1:3000\n');
  });
});
