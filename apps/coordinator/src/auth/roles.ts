import { Role } from '../config/api-keys';

/**
 * viewer: read; starter: also start transactions (a service that starts them, e.g. with the
 * SDK's OrdoStarts, and reads them and their 2PC decisions); operator: also repair
 * transactions; admin: also register definitions. Each holds the ones below it and every scope.
 */
const RANK: Partial<Record<Role, number>> = { viewer: 0, starter: 1, operator: 2, admin: 3 };

/**
 * Whether a key of role `held` may use a route that needs `needed`. The scopes (metrics:
 * GET /metrics; participant: a transaction's 2PC decision, reports of prepared work) allow
 * their own routes only. A role holds every scope's reads; a scope's writes (a participant's
 * report) need `operator` or above, so that `viewer` and `starter` stay unable to change
 * what operators see.
 */
export function allows(held: Role, needed: Role, write = false): boolean {
  const rank = RANK[held];
  if (rank === undefined) return held === needed;
  const neededRank = RANK[needed];
  if (neededRank === undefined) return !write || rank >= RANK.operator!;
  return rank >= neededRank;
}
