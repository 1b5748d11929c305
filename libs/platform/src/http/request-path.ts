import { FastifyRequest } from 'fastify';

/** The path a request asked for, without its query (which may hold anything). */
export const pathOf = (request: Pick<FastifyRequest, 'url'>): string => request.url.split('?', 1)[0];
