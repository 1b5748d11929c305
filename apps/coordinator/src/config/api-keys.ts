import { hash } from 'crypto';

/**
 * API keys and their roles, as the operator configures them (ORDO_API_KEYS):
 * `name:role:secret` entries separated by commas, each optionally followed by
 * `;expires=<ISO-8601 date or instant>`, e.g.
 * `ops-alice:operator:2f6c…;expires=2027-01-01,grafana:metrics:9a1b…`. The name is the
 * caller the coordinator records (operator actions, starts, registrations) and the owner of
 * its idempotency keys; the secret is what clients send as `Authorization: Bearer <secret>`
 * (or `X-Api-Key: <secret>`).
 */
export const ROLES = ['viewer', 'starter', 'operator', 'admin', 'metrics', 'participant'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  name: string;
  role: Role;
  /** Epoch ms after which the key is refused; none when it does not expire. */
  expiresAt?: number;
}

/** Secrets shorter than this are refused: guessable keys are worse than none. */
export const MIN_SECRET_LENGTH = 16;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;
// A date alone means its start, in UTC; an instant needs its offset, so no zone is guessed.
const EXPIRY = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * Keys are looked up by digest, so the configured secrets are not kept in memory as such.
 * One-shot `hash` (Node 20.12+): every request pays for it, and it makes no Hash object.
 */
export const digest = (secret: string): string => hash('sha256', secret, 'hex');

/** Parses ORDO_API_KEYS; throws an Error naming every bad entry (by position and name, never the secret). */
export function parseApiKeys(text: string): Map<string, Principal> {
  const keys = new Map<string, Principal>();
  const names = new Set<string>();
  const problems: string[] = [];
  text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .forEach((entry, index) => {
      const [key, ...attributes] = entry.split(';').map((part) => part.trim());
      const [name = '', role = '', ...rest] = key.split(':');
      const secret = rest.join(':');
      const where = `entry ${index + 1}${NAME.test(name) ? ` (${name})` : ''}`;
      if (!NAME.test(name)) problems.push(`${where}: the name must be 1-100 letters, digits, ".", "_", "@" or "-"`);
      else if (names.has(name)) problems.push(`${where}: the name is used twice`);
      if (!(ROLES as readonly string[]).includes(role)) problems.push(`${where}: the role must be one of ${ROLES.join(', ')}`);
      if (secret.length < MIN_SECRET_LENGTH) problems.push(`${where}: the secret must be at least ${MIN_SECRET_LENGTH} characters`);
      else if (keys.has(digest(secret))) problems.push(`${where}: the secret is used twice`);
      const principal: Principal = { name, role: role as Role };
      for (const attribute of attributes) {
        const [attributeName, value = ''] = attribute.split(/=(.*)/s);
        if (attributeName !== 'expires') problems.push(`${where}: the only attribute is expires=<date or instant> (a secret cannot hold ";")`);
        else if (!EXPIRY.test(value) || Number.isNaN(Date.parse(value))) {
          problems.push(`${where}: expires must be an ISO-8601 date (2027-01-31) or instant with its offset (2027-01-31T18:00:00Z)`);
        } else principal.expiresAt = Date.parse(value);
      }
      names.add(name);
      keys.set(digest(secret), principal);
    });
  if (problems.length > 0) throw new Error(problems.join('; '));
  if (keys.size === 0) throw new Error('no key configured: give at least one name:role:secret');
  return keys;
}
