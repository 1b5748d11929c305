import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { activeTraceparent, consumerSpans, inSpan, inSpans, stopTracing, traceparentOf, tracingMode, useTracerProvider } from './tracing';

describe('span helpers', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const caller = `00-${traceId}-b7ad6b7169203331-01`;

  beforeAll(() => useTracerProvider(provider));
  afterAll(() => stopTracing());
  beforeEach(() => exporter.reset());

  it('chains spans across messages by traceparent: send → handle → apply, one trace', async () => {
    const sent = await inSpan('start', { kind: SpanKind.INTERNAL, parent: caller }, async () =>
      // What the engine stores on the transaction, and every command then carries.
      inSpans([{ name: 'send', kind: SpanKind.PRODUCER, parent: activeTraceparent() }], async ([send]) => traceparentOf(send)!),
    );
    const replied = await inSpan('handle', { kind: SpanKind.CONSUMER, parent: sent }, async (span) => traceparentOf(span)!);
    await inSpans([{ name: 'apply', kind: SpanKind.CONSUMER, parent: replied }], async () => undefined);

    const spans = new Map(exporter.getFinishedSpans().map((s) => [s.name, s]));
    expect([...spans.values()].every((s) => s.spanContext().traceId === traceId)).toBe(true);
    const parentOf = (name: string) => spans.get(name)!.parentSpanContext?.spanId;
    expect(parentOf('start')).toBe('b7ad6b7169203331');
    expect(parentOf('send')).toBe(spans.get('start')!.spanContext().spanId);
    expect(parentOf('handle')).toBe(spans.get('send')!.spanContext().spanId);
    expect(parentOf('apply')).toBe(spans.get('handle')!.spanContext().spanId);
  });

  it('makes one consumer span per consumed message, child of its traceparent header', () => {
    const messages: { id: string; headers: Record<string, string> }[] = [
      { id: 'a', headers: { traceparent: caller } },
      { id: 'b', headers: {} },
    ];
    expect(consumerSpans('ordo.replies', messages, ({ id, headers }) => ({ headers, attributes: { id } }))).toEqual([
      { name: 'process ordo.replies', kind: SpanKind.CONSUMER, parent: caller, attributes: { id: 'a' } },
      { name: 'process ordo.replies', kind: SpanKind.CONSUMER, parent: null, attributes: { id: 'b' } },
    ]);
  });

  it('marks every span of a failed batch as an error and rethrows', async () => {
    const batch = [caller, null].map((parent) => ({ name: 'apply', kind: SpanKind.CONSUMER, parent }));
    await expect(inSpans(batch, async () => Promise.reject(new Error('database down')))).rejects.toThrow('database down');
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR]);
    // A message without a traceparent starts a trace of its own.
    expect(spans[1].spanContext().traceId).not.toBe(traceId);
  });
});

describe('tracingMode', () => {
  it('is off by default', () => expect(tracingMode({})).toBe('off'));
  it('follows ORDO_TRACING', () => {
    expect(tracingMode({ ORDO_TRACING: 'file' })).toBe('file');
    expect(tracingMode({ ORDO_TRACING: 'OTLP' })).toBe('otlp');
    expect(tracingMode({ ORDO_TRACING: 'off', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe('off');
  });
  it('turns OTLP on when an endpoint is set', () => {
    expect(tracingMode({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe('otlp');
  });
  it('refuses an unknown mode, naming the setting', () => {
    expect(() => tracingMode({ ORDO_TRACING: 'jaeger' })).toThrow(/ORDO_TRACING/);
  });
});
