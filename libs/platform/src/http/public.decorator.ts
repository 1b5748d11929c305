import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = Symbol('ordo:public');

/** Marks a controller or route as reachable without credentials (health probes only). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export const REQUIRED_SCOPE = Symbol('ordo:required-scope');

/**
 * The role or scope of API key a route needs, where the app authenticates (the
 * coordinator); shared routes such as /metrics declare theirs here.
 */
export const RequireScope = (scope: string) => SetMetadata(REQUIRED_SCOPE, scope);
