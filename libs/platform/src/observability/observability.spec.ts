import { BoundedLabel, OTHER_LABEL } from './bounded-label';
import { tracingMode } from './tracing';

describe('BoundedLabel', () => {
  it('keeps the first values up to its limit and reports later ones as _other', () => {
    const label = new BoundedLabel(2);
    expect([label.of('a'), label.of('b'), label.of('c'), label.of('a'), label.of('d')]).toEqual(['a', 'b', OTHER_LABEL, 'a', OTHER_LABEL]);
  });

  it('cuts long values and names missing ones', () => {
    const label = new BoundedLabel(10);
    expect(label.of('x'.repeat(100))).toHaveLength(64);
    expect(label.of(undefined)).toBe('none');
    expect(label.of('')).toBe('none');
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
