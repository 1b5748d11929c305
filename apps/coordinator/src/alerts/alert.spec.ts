import { TransactionState } from '../engine';
import { AlertRecord, alertBody, failedAlert, FailedTransaction, summaryBody, testBody } from './alert';

const TX = '6f1c2d3e-0000-4000-8000-000000000001';
const AT = new Date('2026-12-01T10:00:00.000Z');

const step = (status: string, phase: string, lastError: { code: string; message: string } | null = null) => ({
  status,
  phase,
  attempt: 3,
  attemptsLeft: 0,
  waitingFor: null,
  dueAt: null,
  output: null,
  lastError,
});

describe('alert shapes', () => {
  it('a failed transaction names the steps that need an operator, with their last error', () => {
    const record: FailedTransaction = {
      id: TX,
      definitionName: 'place-order',
      definitionVersion: 2,
      type: 'saga',
      layout: [
        { id: 'create', participant: 'order' },
        { id: 'charge', participant: 'payment' },
      ],
    };
    const after = {
      status: 'failed',
      steps: {
        create: step('compensation_failed', 'compensate', { code: 'DB_DOWN', message: 'no database' }),
        charge: step('compensated', 'compensate'),
      },
    } as unknown as TransactionState;
    const alert = failedAlert(record, after);
    expect(alert).toEqual({
      kind: 'failed',
      txId: TX,
      participant: null,
      definition: 'place-order',
      data: {
        definitionVersion: 2,
        type: 'saga',
        steps: [
          {
            id: 'create',
            participant: 'order',
            status: 'compensation_failed',
            phase: 'compensate',
            error: { code: 'DB_DOWN', message: 'no database' },
          },
        ],
      },
      dedupeKey: null,
    });
    const body = alertBody({ ...alert, id: '41', at: AT }, 'https://ordo.example.com/');
    expect(body).toEqual({
      id: '41',
      kind: 'failed',
      at: '2026-12-01T10:00:00.000Z',
      transactionId: TX,
      participant: null,
      definition: 'place-order',
      summary: `Transaction ${TX} of place-order v2 failed: step create (compensate) DB_DOWN: no database`,
      link: `https://ordo.example.com/#/transactions/${TX}`,
      details: alert.data,
    });
  });

  it('every kind has a one-line summary; links without ORDO_PUBLIC_URL are paths', () => {
    const of = (alert: Partial<AlertRecord>) =>
      alertBody({ id: '1', txId: null, participant: null, definition: null, at: AT, data: {}, ...alert } as AlertRecord, '');
    const stuck = of({ kind: 'stuck', txId: TX, definition: 'transfer', data: { status: 'running', lastProgressAt: '2026-12-01T09:50:00+00:00' } });
    expect(stuck.summary).toBe(`Transaction ${TX} of transfer is running with no progress since 2026-12-01T09:50:00+00:00`);
    expect(stuck.link).toBe(`/#/transactions/${TX}`);
    const circuit = of({ kind: 'circuit_open', participant: 'payment', data: { openMs: 10000, failureRatio: 0.75 } });
    expect(circuit.summary).toBe('Circuit of payment opened for 10000 ms (failure ratio 0.75)');
    expect(circuit.link).toBe('/#/overview');
    const dead = of({ kind: 'dead_letter', data: { reason: 'malformed', message: 'not JSON', count: 3 } });
    expect(dead.summary).toBe('3 replies dead-lettered (malformed): not JSON');
  });

  it('a summary counts what the rate limit folded, under an id no alert has', () => {
    const body = summaryBody('7', { counts: { failed: 12, stuck: 3 }, examples: [{ kind: 'failed', transactionId: TX, participant: null }] }, AT, '');
    expect(body).toMatchObject({ id: 'summary-7', kind: 'summary', summary: '15 more alerts past the rate limit: 12 failed, 3 stuck' });
    expect(body.details).toEqual({ counts: { failed: 12, stuck: 3 }, examples: [{ kind: 'failed', transactionId: TX, participant: null }] });
  });

  it('a test alert has its own kind', () => {
    expect(testBody(AT, '')).toMatchObject({ kind: 'test', id: `test-${AT.getTime()}`, at: AT.toISOString() });
  });
});
