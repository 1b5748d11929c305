import { Context, context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { FastifyInstance, FastifyRequest } from 'fastify';
import { pathOf } from '../http/request-path';
import { contextFromTraceparent, tracer, tracingEnabled } from './tracing';

/**
 * One server span per request, child of the caller's `traceparent` when it sends one,
 * active while Nest handles the request (so the work it starts joins the trace). Named after
 * the route pattern, never the concrete path, to keep names few. With tracing off, no hooks:
 * no span, no context.
 */
export function traceRequests(server: FastifyInstance): void {
  if (!tracingEnabled()) return;
  const active = new WeakMap<FastifyRequest, Context>();
  server.addHook('onRequest', (request, _reply, done) => {
    const traceparent = request.headers.traceparent;
    const parent = contextFromTraceparent(typeof traceparent === 'string' ? traceparent : undefined);
    const attributes = { 'http.request.method': request.method, 'url.path': pathOf(request) };
    active.set(request, trace.setSpan(parent, tracer().startSpan(request.method, { kind: SpanKind.SERVER, attributes }, parent)));
    done();
  });
  // Fastify calls the handler from this hook's `done`, so the handler runs in the span's context.
  server.addHook('preHandler', (request, _reply, done) => {
    const within = active.get(request);
    return within ? context.with(within, done) : done();
  });
  server.addHook('onResponse', (request, reply, done) => {
    const within = active.get(request);
    const span = within && trace.getSpan(within);
    if (span) {
      if (request.routeOptions.url) span.updateName(`${request.method} ${request.routeOptions.url}`);
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}
