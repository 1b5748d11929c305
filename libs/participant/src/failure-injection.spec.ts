import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Command, JsonObject, Phase } from '@ordo/protocol';
import { CRASH_EXIT_CODE, faultFlags, FaultInjector } from './failure-injection';
import { BusinessFailure } from './failures';
import { ParticipantConfig } from './participant.config';

const command = (input: JsonObject): Command => ({
  txId: 'tx-1',
  stepId: 'reserve-stock',
  type: 'saga',
  phase: 'execute',
  action: 'reserve',
  attempt: 1,
  input,
  deadline: '2026-01-01T00:00:00Z',
});

type FaultSettings = Partial<Pick<ParticipantConfig, 'FAULT_TRANSIENT_RATE' | 'FAULT_LATENCY_MS' | 'FAULT_INJECTION'>>;

function injector(settings: FaultSettings, crashRecorded: unknown[] = [{}]) {
  const config = Object.assign(new ParticipantConfig(), { FAULT_INJECTION: 'on' }, settings);
  const query = jest.fn().mockResolvedValue(crashRecorded);
  return { faults: new FaultInjector(config, { query } as unknown as DataSource), query };
}

describe('faultFlags', () => {
  const flags = (input: JsonObject, phase: Phase = 'execute') => faultFlags({ input, phase });

  it('reads the flags, and none when _fault is absent or null', () => {
    expect(flags({ sku: 'A' })).toEqual({});
    expect(flags({ _fault: null })).toEqual({});
    expect(flags({ _fault: { transient: true, latencyMs: 20, crash: 'after-commit' } })).toEqual({
      transient: true,
      latencyMs: 20,
      crash: 'after-commit',
    });
  });

  it('applies flags aimed at some phases to those phases only', () => {
    const input = { _fault: { crash: 'before-commit', phases: ['commit'] } };
    expect(flags(input, 'prepare')).toEqual({});
    expect(flags(input, 'commit')).toEqual({ crash: 'before-commit', phases: ['commit'] });
    expect(() => flags({ _fault: { phases: ['later'] } })).toThrow(/_fault: each value in phases must be one of/);
  });

  it('refuses malformed flags, naming each problem', () => {
    expect(() => flags({ _fault: 'crash' })).toThrow(BusinessFailure);
    const malformed = () => flags({ _fault: { crash: 'sometime', latencyMs: -1 } });
    expect(malformed).toThrow(/_fault: crash must be one of/);
    expect(malformed).toThrow(/_fault: latencyMs must not be less than 0/);
  });
});

describe('FaultInjector', () => {
  beforeAll(() => Logger.overrideLogger(false));
  const exit = jest.spyOn(process, 'exit').mockImplementation(() => undefined as never);
  afterEach(() => exit.mockClear());

  it('ignores _fault, even a malformed one, when FAULT_INJECTION is off', async () => {
    const { faults, query } = injector({ FAULT_INJECTION: 'off' });
    for (const _fault of [{ transient: true }, { latencyMs: 60_000 }, { crash: 'never' }, 'crash'] as JsonObject['_fault'][]) {
      expect(await faults.beforeHandling(command({ _fault }))).toBeNull();
    }
    await faults.crashIfRequested('before-commit', command({ _fault: { crash: 'before-commit' } }));
    await faults.crashIfRequested('after-commit', command({ _fault: { crash: 'after-commit' } }));
    expect(query).not.toHaveBeenCalled();
    expect(exit).not.toHaveBeenCalled();
  });

  it('does nothing unless configured or asked', async () => {
    const { faults, query } = injector({});
    expect(await faults.beforeHandling(command({ sku: 'A' }))).toBeNull();
    await faults.crashIfRequested('before-commit', command({ sku: 'A' }));
    expect(query).not.toHaveBeenCalled();
    expect(exit).not.toHaveBeenCalled();
  });

  it('answers retry at the configured rate and when a command asks', async () => {
    const retry = { outcome: 'retry', error: { code: 'INJECTED_TRANSIENT', message: expect.any(String) } };
    expect(await injector({ FAULT_TRANSIENT_RATE: 1 }).faults.beforeHandling(command({}))).toEqual(retry);
    expect(await injector({}).faults.beforeHandling(command({ _fault: { transient: true } }))).toEqual(retry);
  });

  it('answers retry to the first transientAttempts attempts only', async () => {
    const { faults } = injector({});
    const attempt = (n: number) => faults.beforeHandling({ ...command({ _fault: { transientAttempts: 2 } }), attempt: n });
    expect(await attempt(1)).toMatchObject({ outcome: 'retry', error: { code: 'INJECTED_TRANSIENT' } });
    expect(await attempt(2)).toMatchObject({ outcome: 'retry' });
    expect(await attempt(3)).toBeNull();
  });

  it('refuses a malformed _fault with failure', async () => {
    const reply = await injector({}).faults.beforeHandling(command({ _fault: { crash: 'never' } }));
    expect(reply).toMatchObject({ outcome: 'failure', error: { code: 'INVALID_INPUT' } });
  });

  it('adds the configured and the requested latency', async () => {
    const started = Date.now();
    await injector({ FAULT_LATENCY_MS: 30 }).faults.beforeHandling(command({ _fault: { latencyMs: 30 } }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('crashes at the requested point only, and only the first time it is recorded', async () => {
    const asked = command({ _fault: { crash: 'before-commit' } });
    const first = injector({});
    await first.faults.crashIfRequested('after-commit', asked);
    expect(exit).not.toHaveBeenCalled();
    await first.faults.crashIfRequested('before-commit', asked);
    expect(first.query).toHaveBeenCalledWith(expect.stringContaining('INSERT INTO ordo_fault_crash'), [
      'tx-1',
      'reserve-stock',
      'execute',
      'before-commit',
    ]);
    expect(exit).toHaveBeenCalledWith(CRASH_EXIT_CODE);

    exit.mockClear();
    await injector({}, []).faults.crashIfRequested('before-commit', asked);
    expect(exit).not.toHaveBeenCalled();
  });

  it('does not crash when the crash cannot be recorded', async () => {
    const { faults, query } = injector({});
    query.mockRejectedValue(new Error('relation "ordo_fault_crash" does not exist'));
    await faults.crashIfRequested('after-commit', command({ _fault: { crash: 'after-commit' } }));
    expect(exit).not.toHaveBeenCalled();
  });
});
