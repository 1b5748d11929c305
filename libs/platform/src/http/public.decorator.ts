import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = Symbol('ordo:public');

/** Marks a controller or route as reachable without credentials (health probes only). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
