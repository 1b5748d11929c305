import { verdictOf, verdictOfFailure } from './delivery-verdict';

const coordinatorError = (code: string) => ({ error: { code, message: `${code} happened` } });

describe('verdictOf', () => {
  it.each([200, 201])('delivers on %i with the transaction id', (status) => {
    expect(verdictOf(status, { id: 'tx-1', status: 'running' })).toEqual({ kind: 'delivered', txId: 'tx-1' });
  });

  it('retries a success without a transaction id', () => {
    expect(verdictOf(201, {})).toMatchObject({ kind: 'retry', error: { status: 201, code: 'UNEXPECTED_ANSWER' } });
  });

  it.each([
    [400, 'VALIDATION_FAILED', 'rejected'],
    [404, 'DEFINITION_NOT_FOUND', 'rejected'],
    [409, 'CONFLICT', 'rejected'],
    [413, 'PAYLOAD_TOO_LARGE', 'rejected'],
    [422, 'INPUT_REFUSED', 'rejected'],
    [401, 'UNAUTHENTICATED', 'retry'],
    [403, 'FORBIDDEN', 'retry'],
    [408, 'REQUEST_TIMEOUT', 'retry'],
    [429, 'TOO_MANY_REQUESTS', 'retry'],
    [500, 'INTERNAL', 'retry'],
    [503, 'SHUTTING_DOWN', 'retry'],
  ])("judges the coordinator's %i %s: %s", (status, code, kind) => {
    expect(verdictOf(status, coordinatorError(code))).toEqual({ kind, error: { status, code, message: `${code} happened` } });
  });

  it.each([
    [404, null],
    [404, '<html>not found</html>'],
    [400, { message: 'a proxy said no' }],
    [502, null],
  ])("retries a %i without the coordinator's error body (%p): something else answered", (status, body) => {
    expect(verdictOf(status, body)).toMatchObject({ kind: 'retry', error: { status, code: `HTTP_${status}` } });
  });
});

describe('verdictOfFailure', () => {
  it('retries a request that got no answer, naming the cause', () => {
    const error = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:3000') });
    expect(verdictOfFailure(error)).toEqual({
      kind: 'retry',
      error: { code: 'UNREACHABLE', message: 'fetch failed: connect ECONNREFUSED 127.0.0.1:3000' },
    });
  });

  it('retries a timeout', () => {
    expect(verdictOfFailure(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toMatchObject({
      kind: 'retry',
      error: { code: 'UNREACHABLE' },
    });
  });
});
