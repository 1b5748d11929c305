import { RequireScope } from '@ordo/platform';
import { Role } from '../config/api-keys';

/**
 * The least role a route needs (or the scope that allows it: metrics, participant). Without
 * it a read (GET / HEAD) needs `viewer` and anything else `admin`, so a route that forgets
 * to say is closed, not open.
 */
export const RequireRole = (role: Role) => RequireScope(role);
