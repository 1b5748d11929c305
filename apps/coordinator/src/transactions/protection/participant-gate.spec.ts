import { ConsoleLogger, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'timers/promises';
import { validateConfig } from '@ordo/platform';
import { AlertRecorder } from '../../alerts/alert-recorder';
import { CoordinatorConfig } from '../../config/coordinator.config';
import { Admission, Effect, Gate } from '../../engine';
import { TransactionRepository } from '../persistence/transaction.repository';
import { CommittedDecision, ParticipantGate } from './participant-gate';
import { PausedParticipants } from './paused-participants';
import { ReplyFlowMonitor } from './reply-flow-monitor';
import { ReplyTimeTracker } from './reply-time-tracker';

const layout = [{ id: 'charge', participant: 'bank' }];
const HOLD_RETRY_MS = 100;

/** A gate over a database whose in-flight counts are `database`. */
function setUp(settings: Record<string, string> = {}) {
  const database = new Map<string, number>();
  const queries: string[][] = [];
  /** While set, a count answers only once it resolves. */
  const slow: { until?: Promise<void> } = {};
  const repository = {
    countAwaitingReply: async (participants: readonly string[] | null) => {
      queries.push([...(participants ?? [])]);
      await slow.until;
      return new Map(database);
    },
  } satisfies Pick<TransactionRepository, 'countAwaitingReply'>;
  const config = validateConfig(CoordinatorConfig, {
    DATABASE_URL: 'postgres://u@db/ordo',
    KAFKA_BROKERS: 'k:9092',
    ORDO_API_KEYS: 'ops:admin:gate-spec-key-0123456789',
    HOLD_RETRY_MS: String(HOLD_RETRY_MS),
    IN_FLIGHT_REFRESH_MS: '0',
    ...settings,
  });
  const replyFlow = { stalled: false };
  const monitor = { stalled: () => replyFlow.stalled } as ReplyFlowMonitor;
  const opened: string[] = [];
  const alerts = { circuitOpened: (participant: string) => void opened.push(participant) } as unknown as AlertRecorder;
  const paused = new Set<string>();
  const pauses = {
    names: async () => paused,
    list: async () => [...paused].map((participant) => ({ participant, pausedBy: 'ops', note: null, pausedAt: new Date(0) })),
  } as unknown as PausedParticipants;
  const replyTimes = new ReplyTimeTracker(config, monitor);
  const gate = new ParticipantGate(repository as unknown as TransactionRepository, config, monitor, alerts, pauses, replyTimes);
  return { gate, database, queries, replyFlow, opened, paused, slow };
}

const admitMany = (gate: Gate, count: number): Admission[] => Array.from({ length: count }, () => gate.admit('bank'));

const send = (): Effect => ({
  kind: 'send',
  stepId: 'charge',
  participant: 'bank',
  phase: 'execute',
  action: 'charge',
  attempt: 1,
  input: {},
  deadline: 0,
});
const replied = (outcome: 'success' | 'retry'): CommittedDecision => ({
  layout,
  effects: [{ kind: 'record', event: { type: 'step.replied', stepId: 'charge', phase: 'execute', attempt: 1, outcome } }],
});
const timedOut: CommittedDecision = {
  layout,
  effects: [{ kind: 'record', event: { type: 'step.timed_out', stepId: 'charge', phase: 'execute', attempt: 1 } }],
};

/** Commits one batch that applies these decisions. */
async function commit(gate: ParticipantGate, decisions: CommittedDecision[], now = Date.now()): Promise<void> {
  const batch = gate.begin();
  await batch.gate(['bank'], now);
  batch.end(decisions);
}

describe('ParticipantGate', () => {
  // Circuits opening and closing are logged; not here.
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));

  it('refuses every command to a paused participant, without a retry time, and admits the others', async () => {
    const { gate, paused } = setUp();
    paused.add('bank');
    const batch = await gate.begin().gate(['bank', 'shop'], Date.now());
    expect([batch.admit('bank'), batch.admit('shop')]).toEqual([{ admitted: false, reason: 'participant_paused' }, { admitted: true }]);
    expect((await gate.participants()).find((p) => p.participant === 'bank')?.paused).toMatchObject({ by: 'ops', note: null });
  });

  describe('in-flight bound', () => {
    it('admits up to the bound, counting what the database has and what the batch admitted', async () => {
      const { gate, database } = setUp({ MAX_IN_FLIGHT_PER_PARTICIPANT: '3' });
      database.set('bank', 1);
      const now = Date.now();
      const admissions = admitMany(await gate.begin().gate(['bank'], now), 3);
      expect(admissions.slice(0, 2)).toEqual([{ admitted: true }, { admitted: true }]);
      expect(admissions[2]).toMatchObject({ admitted: false, reason: 'in_flight_limit' });
      const { retryAt } = admissions[2] as Extract<Admission, { retryAt: number }>;
      expect(retryAt).toBeGreaterThanOrEqual(now + HOLD_RETRY_MS / 2);
      expect(retryAt).toBeLessThanOrEqual(now + (HOLD_RETRY_MS * 3) / 2);
    });

    it('counts the admissions of an open batch in every other batch, and forgets them if it rolls back', async () => {
      const { gate } = setUp({ MAX_IN_FLIGHT_PER_PARTICIPANT: '2' });
      const first = gate.begin();
      expect(admitMany(await first.gate(['bank'], Date.now()), 2).every((a) => a.admitted)).toBe(true);
      const second = gate.begin();
      expect((await second.gate(['bank'], Date.now())).admit('bank')).toMatchObject({ admitted: false });
      first.end(null);
      expect((await gate.begin().gate(['bank'], Date.now())).admit('bank')).toEqual({ admitted: true });
    });

    it('counts what a batch committed, not what it admitted, until the database count has it', async () => {
      const { gate, database } = setUp({ MAX_IN_FLIGHT_PER_PARTICIPANT: '1', IN_FLIGHT_REFRESH_MS: '60000' });
      const batch = gate.begin();
      admitMany(await batch.gate(['bank'], Date.now()), 1);
      // A start whose idempotency key was taken writes nothing.
      batch.end([]);
      await commit(gate, [{ layout, effects: [send()] }]);
      expect((await gate.begin().gate(['bank'], Date.now())).admit('bank')).toMatchObject({ admitted: false });
      // A count taken after the commit (a later millisecond) has the command …
      await sleep(2);
      database.set('bank', 1);
      expect((await gate.begin().gate(['bank'], Date.now() + 60_000)).admit('bank')).toMatchObject({ admitted: false });
      // … and the next one sees it answered (taken when a decision finds the count old, for those after it).
      database.set('bank', 0);
      await gate.begin().gate(['bank'], Date.now() + 120_000);
      await sleep(2);
      expect((await gate.begin().gate(['bank'], Date.now() + 120_000)).admit('bank')).toEqual({ admitted: true });
    });

    it('frees a place as soon as a reply or a timeout this instance applied commits', async () => {
      const { gate, database } = setUp({ MAX_IN_FLIGHT_PER_PARTICIPANT: '2', IN_FLIGHT_REFRESH_MS: '60000' });
      database.set('bank', 2);
      expect((await gate.begin().gate(['bank'], Date.now())).admit('bank')).toMatchObject({ admitted: false });
      await commit(gate, [replied('success'), timedOut]);
      expect(admitMany(await gate.begin().gate(['bank'], Date.now()), 3).map((a) => a.admitted)).toEqual([true, true, false]);
    });

    it('waits for the first count only: an old one is taken again while the decision goes on with the corrected count', async () => {
      const { gate, database, queries, slow } = setUp({ MAX_IN_FLIGHT_PER_PARTICIPANT: '2', IN_FLIGHT_REFRESH_MS: '200' });
      /** One database transaction's admissions of `count` commands, none of them committed. */
      const admitted = async (at: number, count: number) => {
        const batch = gate.begin();
        const admissions = admitMany(await batch.gate(['bank'], at), count).map((a) => a.admitted);
        batch.end(null);
        return admissions;
      };
      database.set('bank', 1);
      const now = Date.now();
      expect(await admitted(now, 2)).toEqual([true, false]);
      let answer = () => {};
      slow.until = new Promise((resolve) => (answer = resolve));
      database.set('bank', 0);
      // The count is old and the database has not answered: decided on the count it has.
      expect(await admitted(now + 1_000, 2)).toEqual([true, false]);
      expect(queries).toEqual([['bank'], ['bank']]);
      answer();
      await sleep(2);
      expect(await admitted(now + 1_001, 3)).toEqual([true, true, false]);
      // A participant never counted waits for its count.
      let counted = false;
      slow.until = sleep(20).then(() => void (counted = true));
      await gate.begin().gate(['shop'], now + 1_002);
      expect(counted).toBe(true);
    });

    it('counts again only once the count is older than IN_FLIGHT_REFRESH_MS', async () => {
      const { gate, queries } = setUp({ IN_FLIGHT_REFRESH_MS: '200' });
      const now = Date.now();
      await gate.begin().gate(['bank', 'shop'], now);
      await gate.begin().gate(['bank'], now + 199);
      await gate.begin().gate(['bank'], now + 10_000);
      expect(queries).toEqual([['bank', 'shop'], ['bank']]);
    });
  });

  describe('circuit breaker', () => {
    const breakerSettings = { BREAKER_WINDOW: '4', BREAKER_MIN_CALLS: '2', BREAKER_OPEN_MS: '1000', BREAKER_HALF_OPEN_PROBES: '2' };

    it('opens on the retries and timeouts of committed batches, and holds every command until it may probe', async () => {
      const { gate, opened } = setUp(breakerSettings);
      const now = Date.now();
      await commit(gate, [replied('retry'), timedOut], now);
      expect(await gate.participants()).toEqual([
        { participant: 'bank', circuit: 'open', inFlight: 0, failureRatio: 1, paused: null, adaptiveTimeouts: [] },
      ]);
      expect(opened).toEqual(['bank']);
      const held = (await gate.begin().gate(['bank'], now + 999)).admit('bank');
      expect(held).toEqual({ admitted: false, reason: 'circuit_open', retryAt: expect.any(Number) });
      expect((held as Extract<Admission, { retryAt: number }>).retryAt).toBeGreaterThanOrEqual(now + 1000);
    });

    it('does not hold timeouts against a participant while replies are not being consumed', async () => {
      const { gate, replyFlow } = setUp(breakerSettings);
      replyFlow.stalled = true;
      await commit(gate, [timedOut, timedOut, timedOut]);
      // Nothing was recorded against bank.
      expect(await gate.participants()).toEqual([]);
      // Unhealthy replies still count: the participant itself answered.
      await commit(gate, [replied('retry'), replied('retry')]);
      expect((await gate.participants())[0]).toMatchObject({ circuit: 'open' });
    });

    it('lets probes through when half-open, holds the rest briefly, and closes when the probes are healthy', async () => {
      const { gate } = setUp(breakerSettings);
      const opened = Date.now();
      await commit(gate, [replied('retry'), replied('retry')], opened);
      const probing = await gate.begin().gate(['bank'], opened + 60_000);
      const [first, second, third] = admitMany(probing, 3);
      expect([first, second]).toEqual([{ admitted: true }, { admitted: true }]);
      expect(third).toMatchObject({ admitted: false, reason: 'circuit_open' });
      expect((third as Extract<Admission, { retryAt: number }>).retryAt).toBeLessThanOrEqual(opened + 60_000 + HOLD_RETRY_MS * 1.5);
      await commit(gate, [replied('success'), replied('success')]);
      expect((await gate.participants())[0]).toMatchObject({ circuit: 'closed', failureRatio: 0 });
    });

    it('does not spend a probe on a command the in-flight bound holds back', async () => {
      const { gate, database } = setUp({ ...breakerSettings, MAX_IN_FLIGHT_PER_PARTICIPANT: '1', BREAKER_HALF_OPEN_PROBES: '1' });
      const opened = Date.now();
      await commit(gate, [replied('retry'), replied('retry')], opened);
      database.set('bank', 1);
      expect((await gate.begin().gate(['bank'], opened + 60_000)).admit('bank')).toMatchObject({
        reason: 'in_flight_limit',
      });
      database.set('bank', 0);
      // The count taken again when a decision finds it old serves the decisions after it.
      await gate.begin().gate(['bank'], opened + 60_001);
      await sleep(2);
      expect((await gate.begin().gate(['bank'], opened + 60_002)).admit('bank')).toEqual({ admitted: true });
    });
  });
});
