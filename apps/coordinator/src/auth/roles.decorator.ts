import { SetMetadata } from '@nestjs/common';
import { Role } from './api-keys';

export const REQUIRED_ROLE = Symbol('ordo:required-role');

/**
 * The least role a route needs. Without it a read (GET / HEAD) needs `viewer` and
 * anything else `admin`, so a route that forgets to say is closed, not open.
 */
export const RequireRole = (role: Role) => SetMetadata(REQUIRED_ROLE, role);
