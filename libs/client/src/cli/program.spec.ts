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
      sent.push({ method: input.method, url: input.url, body: text ? JSON.parse(text) : undefined, authorization: input.headers.get('authorization') });
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
  steps: [{ id: 'charge', participant: 'payment', status: 'failed', phase: 'execute', attempt: 1, attemptsLeft: 0, lastError: { code: 'DECLINED', message: 'card declined' } }],
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
    const started = await cli(['tx', 'start', 'place-order', '--tag', 'orderId=o-1', '-t', 'note=a=b'], () => ({ status: 201, body: { ...tx('running'), tags: { orderId: 'o-1', note: 'a=b' } } }));
    expect(started.code).toBe(0);
    expect(started.sent[0].body).toEqual({ definition: 'place-order', input: {}, tags: { orderId: 'o-1', note: 'a=b' } });
    expect(started.out).toMatch(/^tags\s+orderId=o-1, note=a=b$/m);

    const listed = await cli(['tx', 'list', '--tag', 'orderId=o-1', '--tag', 'customer=ada', '--status', 'running', '--paused'], () => ({ status: 200, body: { items: [], nextCursor: null } }));
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
    expect(sent.slice(1).every((s) => s.method === 'GET' && /\/transactions\/0b6f2c4e-8f1a-4d55-9a3e-2f7c1d9e8a10\?waitMs=\d+$/.test(s.url))).toBe(true);
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
    expect(sent[0]).toMatchObject({ method: 'POST', url: expect.stringMatching(/\/transactions\/tx-1\/steps\/charge\/resolve$/), body: { outcome: 'compensated', note: 'refunded, OPS-42' } });
  });

  it.each([
    [['tx', 'pause', 'tx-1', '--note', 'look'], '/transactions/tx-1/pause', { note: 'look' }],
    [['tx', 'resume', 'tx-1'], '/transactions/tx-1/resume', {}],
    [['tx', 'retry-now', 'tx-1', 'charge'], '/transactions/tx-1/steps/charge/retry-now', {}],
    [['tx', 'attempts', 'tx-1', 'charge', '--left', '0', '--note', 'stop'], '/transactions/tx-1/steps/charge/attempts', { attemptsLeft: 0, note: 'stop' }],
    [['tx', 'skip', 'tx-1', 'charge', '-o', '{"chargeId":"c-1"}', '--note', 'by hand'], '/transactions/tx-1/steps/charge/skip', { output: { chargeId: 'c-1' }, note: 'by hand' }],
    [['tx', 'fail', 'tx-1', 'charge', '--note', 'partner gone'], '/transactions/tx-1/steps/charge/fail', { note: 'partner gone' }],
  ])('sends an operator action: %j', async (args, path, body) => {
    const { code, out, sent } = await cli(args, () => ({ status: 200, body: { ...tx('running'), paused: { since: '2026-12-01T10:00:02.000Z', actor: 'ops', participants: ['payment'] } } }));
    expect(code).toBe(0);
    expect(sent).toEqual([expect.objectContaining({ method: 'POST', url: `http://localhost:3000/api/v1${path}`, body })]);
    expect(out).toMatch(/^paused\s+since 2026-12-01T10:00:02.000Z by ops, participant payment$/m);
  });

  it('pauses and resumes by filter, and pauses, lists and resumes a participant', async () => {
    const paused = await cli(['tx', 'pause-all', '--definition', 'place-order', '-t', 'customer=ada', '--limit', '10'], () => ({ status: 200, body: { paused: 3 } }));
    expect(paused.sent[0]).toMatchObject({ url: 'http://localhost:3000/api/v1/transactions/pause', body: { definition: 'place-order', tag: ['customer:ada'], limit: 10 } });
    expect(paused.out).toBe('3 paused\n');
    expect((await cli(['tx', 'resume-all', '--note', 'back'], () => ({ status: 200, body: { resumed: 3 } }))).out).toBe('3 resumed\n');

    const pause = await cli(['participants', 'pause', 'inventory', '--note', 'upgrade'], () => ({ status: 200, body: { since: '2026-12-01T10:00:00.000Z', by: 'ops', note: 'upgrade' } }));
    expect(pause.sent[0]).toMatchObject({ url: 'http://localhost:3000/api/v1/participants/inventory/pause', body: { note: 'upgrade' } });
    expect(pause.out).toBe('inventory paused since 2026-12-01T10:00:00.000Z\n');
    const listed = await cli(['participants', 'list'], () => ({
      status: 200,
      body: { items: [{ participant: 'inventory', circuit: 'closed', inFlight: 0, failureRatio: 0, paused: { since: '2026-12-01T10:00:00.000Z', by: 'ops', note: null } }] },
    }));
    expect(listed.out).toMatch(/^inventory\s+closed\s+0\s+0\s+since 2026-12-01T10:00:00.000Z by ops$/m);
    const resumed = await cli(['participants', 'resume', 'inventory'], () => ({ status: 200, body: { participant: 'inventory', resumed: 50 } }));
    expect(resumed.out).toBe('inventory resumed, and 50 transactions that waited for it\n');
  });

  it('counts a bulk action first, then runs it and follows it to its end', async () => {
    const dry = await cli(['bulk', 'run', 'skip', '--step', 'charge', '-o', '{"id":1}', '--note', 'by hand', '-t', 'customer=ada', '--dry-run'], () => ({
      status: 200,
      body: { matched: 7 },
    }));
    expect(dry.sent[0]).toMatchObject({
      url: 'http://localhost:3000/api/v1/bulk-actions',
      body: { action: 'skip', stepId: 'charge', output: { id: 1 }, note: 'by hand', tag: ['customer:ada'], dryRun: true },
    });
    expect(dry.out).toBe('7 transactions match\n');
    const run = { id: 'b-1', action: 'pause', params: {}, filter: {}, actor: 'ops', matched: 7, applied: 7, createdAt: '2026-12-03T07:00:00.000Z' };
    const waited = await cli(['bulk', 'run', 'pause', '--wait'], (request) =>
      request.method === 'POST' ? { status: 202, body: { ...run, status: 'running', processed: 0 } } : { status: 200, body: { ...run, status: 'done', processed: 7 } },
    );
    expect(waited.sent.map((s) => s.method)).toEqual(['POST', 'GET']);
    expect(waited.out).toMatch(/^progress\s+7 \/ 7 gone through, 7 applied$/m);
  });

  it('prints the API’s JSON with --json', async () => {
    const { out } = await cli(['--json', 'tx', 'list', '--status', 'failed'], () => ({ status: 200, body: { items: [tx('failed')], nextCursor: null } }));
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
    [['tx', 'start', 'x', '--tag', '=1'], /"=1" is not key=value/],
    [['nonsense'], /unknown command 'nonsense'/],
  ])('exits 2 on a usage mistake: %j', async (args, message) => {
    const { code, err, sent } = await cli(args, () => ({ status: 500 }));
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(sent).toEqual([]);
  });

  it('exits 1 with the API’s code and message when it refuses', async () => {
    const { code, err } = await cli(['definitions', 'show', 'nope'], () => ({ status: 404, body: { error: { code: 'DEFINITION_NOT_FOUND', message: 'no definition nope' } } }));
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
