import { createHmac } from 'crypto';
import { signature, verifySignature } from './signature';

const SECRET = 'whsec-0123456789abcdef';
const BODY = '{"id":"1","kind":"failed"}';

describe('alert signature', () => {
  it('is t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>"> — what a receiver recomputes with any HMAC library', () => {
    const expected = createHmac('sha256', SECRET).update(`1700000000.${BODY}`).digest('hex');
    expect(signature(SECRET, BODY, 1_700_000_000)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies within the tolerance, and refuses another body, another secret, a replay too late or a malformed header', () => {
    const header = signature(SECRET, BODY, 1_700_000_000);
    expect(verifySignature(header, SECRET, BODY, 1_700_000_100)).toBe(true);
    expect(verifySignature(header, SECRET, `${BODY} `, 1_700_000_100)).toBe(false);
    expect(verifySignature(header, 'whsec-another-secret', BODY, 1_700_000_100)).toBe(false);
    expect(verifySignature(header, SECRET, BODY, 1_700_000_301)).toBe(false);
    expect(verifySignature(header.replace(/t=\d+/, 't=1700000050'), SECRET, BODY, 1_700_000_100)).toBe(false);
    expect(verifySignature('v1=abc', SECRET, BODY, 1_700_000_100)).toBe(false);
    expect(verifySignature('t=1700000000,v1=zz', SECRET, BODY, 1_700_000_100)).toBe(false);
  });
});
