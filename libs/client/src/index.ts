export * from './ordo-client';
export * from './errors';
export type { components, operations, paths } from './generated/openapi';
