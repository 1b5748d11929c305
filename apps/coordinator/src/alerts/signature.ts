import { createHmac, timingSafeEqual } from 'crypto';

/** The header that carries an alert's signature, as `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'ordo-signature';

/**
 * HMAC-SHA256 over `<t>.<body>`: the timestamp is signed with the body, so a receiver that
 * refuses old timestamps also refuses a captured request sent again later.
 */
const mac = (secret: string, unixSeconds: number, body: string) => createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');

/** The signature header's value for `body` sent at `unixSeconds`. */
export function signature(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${mac(secret, unixSeconds, body)}`;
}

/**
 * Whether `header` signs `body` with `secret` at most `toleranceSeconds` from `nowSeconds`
 * (the receiver's side; docs/operations.md shows the same check for receivers to copy).
 */
export function verifySignature(header: string, secret: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const fields = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = Number(fields.get('t'));
  const given = Buffer.from(fields.get('v1') ?? '', 'hex');
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(mac(secret, t, body), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
