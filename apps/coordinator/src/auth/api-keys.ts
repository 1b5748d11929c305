import { createHash } from 'crypto';

/**
 * API keys and their roles, as the operator configures them (ORDO_API_KEYS):
 * `name:role:secret` entries separated by commas, e.g.
 * `ops-alice:operator:2f6c…,grafana:viewer:9a1b…`. The name is who the history records
 * for that key's operator actions; the secret is what clients send as
 * `Authorization: Bearer <secret>` (or `X-Api-Key: <secret>`).
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** viewer: read; operator: also start and repair transactions; admin: also register definitions. */
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export const allows = (held: Role, needed: Role): boolean => RANK[held] >= RANK[needed];

export interface Principal {
  name: string;
  role: Role;
}

/** Secrets shorter than this are refused: guessable keys are worse than none. */
export const MIN_SECRET_LENGTH = 16;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

/** Keys are looked up by digest, so the configured secrets are not kept in memory as such. */
export const digest = (secret: string): string => createHash('sha256').update(secret).digest('hex');

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
      const [name = '', role = '', ...rest] = entry.split(':');
      const secret = rest.join(':');
      const where = `entry ${index + 1}${NAME.test(name) ? ` (${name})` : ''}`;
      if (!NAME.test(name)) problems.push(`${where}: the name must be 1-100 letters, digits, ".", "_", "@" or "-"`);
      else if (names.has(name)) problems.push(`${where}: the name is used twice`);
      if (!(ROLES as readonly string[]).includes(role)) problems.push(`${where}: the role must be one of ${ROLES.join(', ')}`);
      if (secret.length < MIN_SECRET_LENGTH) problems.push(`${where}: the secret must be at least ${MIN_SECRET_LENGTH} characters`);
      else if (keys.has(digest(secret))) problems.push(`${where}: the secret is used twice`);
      names.add(name);
      keys.set(digest(secret), { name, role: role as Role });
    });
  if (problems.length > 0) throw new Error(problems.join('; '));
  if (keys.size === 0) throw new Error('no key configured: give at least one name:role:secret');
  return keys;
}
