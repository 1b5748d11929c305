import { appendFileSync } from 'fs';
import {
  Attributes,
  context,
  Context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { ExportResult, ExportResultCode, hrTimeToMicroseconds } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ReadableSpan, SimpleSpanProcessor, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { HEADERS } from '@ordo/protocol';
import { ConfigError } from '../config/validate-config';

export type TracingMode = 'off' | 'otlp' | 'file';

/** ORDO_TRACING wins; an OTLP endpoint alone turns OTLP on; otherwise tracing is off. */
export function tracingMode(env: NodeJS.ProcessEnv): TracingMode {
  const mode = env.ORDO_TRACING?.trim().toLowerCase();
  if (mode === 'off' || mode === 'otlp' || mode === 'file') return mode;
  if (mode) throw new ConfigError(`ORDO_TRACING must be one of off, otlp, file (got "${env.ORDO_TRACING}")`);
  return env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? 'otlp' : 'off';
}

/** A finished span as one JSON line of ORDO_TRACING_FILE. */
export interface SpanLine {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: string;
  startUs: number;
  endUs: number;
  status: string;
  attributes: Attributes;
}

/**
 * Appends finished spans to a file, one JSON object a line. Several processes may append
 * to the same file: each line is one write, so lines never interleave. Meant for tests and
 * local debugging, where no collector runs.
 */
class FileSpanExporter implements SpanExporter {
  constructor(private readonly path: string) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      const lines = spans.map((span) => JSON.stringify(spanLine(span)) + '\n').join('');
      appendFileSync(this.path, lines);
      done({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  async shutdown(): Promise<void> {}
}

function spanLine(span: ReadableSpan): SpanLine {
  return {
    service: String(span.resource.attributes[ATTR_SERVICE_NAME] ?? ''),
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    name: span.name,
    kind: SpanKind[span.kind],
    startUs: hrTimeToMicroseconds(span.startTime),
    endUs: hrTimeToMicroseconds(span.endTime),
    status: SpanStatusCode[span.status.code],
    attributes: span.attributes,
  };
}

let provider: NodeTracerProvider | undefined;

/**
 * Starts tracing for this process, before Nest creates anything. Off by default: the
 * OpenTelemetry API then hands out no-op spans, so the instrumented code costs nearly
 * nothing. OTLP reads the standard OTEL_EXPORTER_OTLP_* settings.
 */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): TracingMode {
  const mode = tracingMode(env);
  if (mode === 'off' || provider) return mode;
  let processor: SpanProcessor;
  if (mode === 'file') {
    if (!env.ORDO_TRACING_FILE) throw new ConfigError('ORDO_TRACING_FILE must be set when ORDO_TRACING=file');
    // Written as each span ends, so a killed process loses nothing it finished.
    processor = new SimpleSpanProcessor(new FileSpanExporter(env.ORDO_TRACING_FILE));
  } else {
    processor = new BatchSpanProcessor(new OTLPTraceExporter());
  }
  useTracerProvider(
    new NodeTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME || `ordo-${service}` }),
      spanProcessors: [processor],
    }),
  );
  return mode;
}

/** Makes `next` this process's tracer provider: startTracing's, or a test's with its own exporter. */
export function useTracerProvider(next: NodeTracerProvider): void {
  // Registers the W3C trace-context propagator and the AsyncLocalStorage context manager.
  next.register();
  provider = next;
}

/** Flushes and stops the exporter (at shutdown). */
export async function stopTracing(): Promise<void> {
  await provider?.shutdown();
  provider = undefined;
}

export const tracer = () => trace.getTracer('ordo');

/** True once startTracing has turned tracing on in this process. */
export const tracingEnabled = () => provider !== undefined;

/** What `work` gets while tracing is off: records nothing, and costs no context switch. */
const NOT_RECORDING = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** The context a W3C `traceparent` header describes (the root context without one). */
export function contextFromTraceparent(traceparent: string | undefined | null): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/** The `traceparent` of the active span; `fallback` when tracing is off or no span is active. */
export function activeTraceparent(fallback?: string | null): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? fallback ?? undefined;
}

const parentContext = (parent: string | null | undefined) => (parent === undefined ? context.active() : contextFromTraceparent(parent));

export interface SpanOptions {
  kind: SpanKind;
  attributes?: Attributes;
  /** The parent: a traceparent header, or the active context when absent. */
  parent?: string | null;
}

/**
 * Runs `work` in a new span, ended when `work` settles; a rejection marks the span as an
 * error and is rethrown.
 */
export function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return work(NOT_RECORDING);
  const parent = parentContext(options.parent);
  return tracer().startActiveSpan(name, { kind: options.kind, attributes: options.attributes }, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

export interface BatchSpanOptions extends SpanOptions {
  name: string;
}

/**
 * The spans of a consumed batch for inSpans: one per item, each child of the span that sent
 * its message (its traceparent header). None when tracing is off, so that a busy consumer
 * builds nothing.
 */
export function consumerSpans<T>(
  topic: string,
  items: readonly T[],
  describe: (item: T) => { headers: Readonly<Record<string, string>>; attributes: Attributes },
): BatchSpanOptions[] {
  if (!tracingEnabled()) return [];
  return items.map((item) => {
    const { headers, attributes } = describe(item);
    return { name: `process ${topic}`, kind: SpanKind.CONSUMER, parent: headers[HEADERS.traceparent] ?? null, attributes };
  });
}

/**
 * Runs `work` over a batch of messages with one span per message (each child of its own
 * message's traceparent), all ended when `work` settles. The spans are not made active:
 * the batch belongs to many traces. Callers with many messages check tracingEnabled()
 * first, so that no options are built while tracing is off.
 */
export async function inSpans<T>(options: readonly BatchSpanOptions[], work: (spans: Span[]) => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return work(options.map(() => NOT_RECORDING));
  const spans = options.map(({ name, kind, attributes, parent }) => tracer().startSpan(name, { kind, attributes }, parentContext(parent)));
  try {
    return await work(spans);
  } catch (error) {
    for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    for (const span of spans) span.end();
  }
}

/** The traceparent of `span` (for headers of messages it sends), when tracing records it. */
export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier.traceparent;
}

export { SpanKind };
