import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { NextFunction, Request, Response } from 'express';
import { contextFromTraceparent, tracer, tracingEnabled } from './tracing';

/**
 * Express middleware: one server span per request, child of the caller's `traceparent`
 * when it sends one, active while Nest handles the request (so the work it starts joins
 * the trace). Named after the route pattern, never the concrete path, to keep names few.
 * With tracing off, nothing: no span, no listener, no context.
 */
export function traceRequests(request: Request, response: Response, next: NextFunction): void {
  if (!tracingEnabled()) return next();
  const parent = contextFromTraceparent(request.header('traceparent'));
  const span = tracer().startSpan(
    request.method,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.path': request.path } },
    parent,
  );
  response.once('finish', () => {
    const route = (request.route as { path?: string } | undefined)?.path;
    if (route) span.updateName(`${request.method} ${route}`);
    span.setAttribute('http.response.status_code', response.statusCode);
    if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  context.with(trace.setSpan(parent, span), next);
}
