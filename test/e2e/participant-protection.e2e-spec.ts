import { randomBytes } from 'crypto';
import { setTimeout as sleep } from 'timers/promises';
import { CoordinatorApi, EventView, TERMINAL, TxView } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';
import { Behaviour, RETRY, SILENT, success, TestParticipant } from '../support/test-participant';

interface ParticipantStatus {
  participant: string;
  circuit: 'closed' | 'open' | 'half_open';
  inFlight: number;
  failureRatio: number;
}

/**
 * Protection of participants: circuit breakers and the in-flight bound, end to end.
 *
 * A breaker lives in one coordinator instance and learns from the replies that instance
 * applies, so each coordinator here runs on a database schema and topic prefix of its own:
 * coordinators of test files running at the same time can neither apply its replies nor
 * fire its timers.
 */
describe('participant protection', () => {
  const suffix = randomBytes(3).toString('hex');

  interface Isolated {
    app: RunningApp;
    api: CoordinatorApi;
    participant(name: string, behaviour: Behaviour, parallel?: boolean): Promise<TestParticipant>;
    stop(): Promise<void>;
  }

  async function isolatedCoordinator(name: string, settings: Record<string, string>): Promise<Isolated> {
    const topicPrefix = `${testEnv().topicPrefix}${name}.`;
    const app = await startApp('coordinator', { DATABASE_SCHEMA: `ordo_${name}`, KAFKA_TOPIC_PREFIX: topicPrefix, ...settings });
    const participants: TestParticipant[] = [];
    return {
      app,
      api: new CoordinatorApi(app.url),
      async participant(participantName, behaviour, parallel = false) {
        const participant = new TestParticipant({ name: participantName, behaviour, topicPrefix, parallel });
        await participant.start();
        participants.push(participant);
        return participant;
      },
      async stop() {
        await app.stop();
        await Promise.all(participants.map((p) => p.stop()));
      },
    };
  }

  const participants = async (api: CoordinatorApi) => (await api.request<{ items: ParticipantStatus[] }>('GET', '/participants')).body.items;
  const holds = (events: EventView[], reason: string) => events.filter((e) => e.type === 'step.held' && e.data.reason === reason);

  describe('circuit breaker', () => {
    const OUTAGE_MS = 3000;
    const BREAKER = {
      BREAKER_WINDOW: '10',
      BREAKER_MIN_CALLS: '4',
      BREAKER_FAILURE_RATIO: '0.5',
      BREAKER_OPEN_MS: '1000',
      BREAKER_HALF_OPEN_PROBES: '2',
      HOLD_RETRY_MS: '100',
    };
    // A breaker that cannot trip within this test: what the participant gets without one.
    const NO_BREAKER = { BREAKER_WINDOW: '10000', BREAKER_MIN_CALLS: '10000' };
    const [EARLY, LATER] = [10, 10];

    interface OutageFigures {
      /** Commands the participant received while it was down. */
      duringOutage: number;
      final: TxView[];
      /** The histories of the transactions started once the participant was failing. */
      laterHistories: EventView[][];
      circuits: ParticipantStatus['circuit'][];
    }

    /**
     * A participant answers `retry` or nothing for OUTAGE_MS while EARLY transactions run
     * against it and LATER ones start; then it recovers.
     */
    async function outage(name: string, settings: Record<string, string>): Promise<OutageFigures> {
      const coordinator = await isolatedCoordinator(name, settings);
      try {
        let down = true;
        const flaky = await coordinator.participant(`flaky-${suffix}`, (command) => (!down ? success() : command.attempt % 3 === 0 ? SILENT : RETRY));
        const { api } = coordinator;
        const flow = `outage-${suffix}`;
        await api.register({
          name: flow,
          type: 'saga',
          defaults: { timeoutMs: 300, retry: { maxAttempts: 100, initialDelayMs: 100, multiplier: 1, maxDelayMs: 100, jitter: 'none' } },
          steps: [{ id: 'call', participant: flaky.name, action: 'call', compensation: 'undo' }],
        });
        const start = (n: number) => api.start(flow, { n }).then((tx) => tx.id);
        const outageStarted = Date.now();
        const early = await Promise.all(Array.from({ length: EARLY }, (_, n) => start(n)));
        await sleep(800);
        const later = await Promise.all(Array.from({ length: LATER }, (_, n) => start(EARLY + n)));
        const circuits: ParticipantStatus['circuit'][] = [];
        while (Date.now() < outageStarted + OUTAGE_MS) {
          circuits.push(...(await participants(api)).filter((p) => p.participant === flaky.name).map((p) => p.circuit));
          await sleep(100);
        }
        down = false;
        const recoveredAt = Date.now();
        const final: TxView[] = [];
        for (const id of [...early, ...later]) final.push(await api.waitFor(id, TERMINAL));
        // Once every transaction is done, the breaker has seen the participant answer.
        circuits.push((await participants(api)).find((p) => p.participant === flaky.name)!.circuit);
        const duringOutage = flaky.log.filter((entry) => entry.at < recoveredAt).length;
        const laterHistories = await Promise.all(later.map((id) => api.events(id)));
        return { duringOutage, final, laterHistories, circuits };
      } finally {
        await coordinator.stop();
      }
    }

    it('holds commands back while a participant fails, probes it, and completes everything once it recovers', async () => {
      const without = await outage(`nobrk_${suffix}`, NO_BREAKER);
      expect(without.final.map((tx) => tx.status)).toEqual(Array(EARLY + LATER).fill('completed'));

      const breaker = await outage(`brk_${suffix}`, BREAKER);
      expect(breaker.final.map((tx) => tx.status)).toEqual(Array(EARLY + LATER).fill('completed'));
      expect(breaker.circuits).toContain('open');
      expect(breaker.circuits[breaker.circuits.length - 1]).toBe('closed');

      // The first attempts of the early transactions went out before the breaker knew
      // anything; after that, only probes: at most HALF_OPEN_PROBES per open period.
      const openPeriods = Math.ceil(OUTAGE_MS / Number(BREAKER.BREAKER_OPEN_MS)) + 1;
      const bound = EARLY + Number(BREAKER.BREAKER_HALF_OPEN_PROBES) * openPeriods + Number(BREAKER.BREAKER_MIN_CALLS);
      expect(breaker.duringOutage).toBeLessThanOrEqual(bound);
      expect(breaker.duringOutage * 3).toBeLessThan(without.duringOutage);
      process.stdout.write(
        `[protection] commands received during a ${OUTAGE_MS} ms outage by ${EARLY + LATER} sagas: ` +
          `${without.duringOutage} without a breaker, ${breaker.duringOutage} with one (bound ${bound})\n`,
      );

      // Transactions started while the circuit was open were held, recorded in their history.
      const { laterHistories } = breaker;
      const held = laterHistories.filter((events) => holds(events, 'circuit_open').length > 0);
      expect(held.length).toBeGreaterThanOrEqual(LATER / 2);
      const [hold] = holds(held[0], 'circuit_open');
      expect(hold.data).toEqual({
        type: 'step.held',
        stepId: 'call',
        phase: 'execute',
        participant: `flaky-${suffix}`,
        reason: 'circuit_open',
        until: expect.any(Number),
      });
      // A hold uses no attempt: the attempts sent are the dispatches recorded.
      for (const events of laterHistories) {
        const dispatched = events.filter((e) => e.type === 'step.dispatched').map((e) => e.data.attempt);
        expect(dispatched).toEqual(dispatched.map((_, index) => index + 1));
      }
    });
  });

  describe('in-flight bound', () => {
    const MAX_IN_FLIGHT = 2;
    const SAGAS = 12;
    let coordinator: Isolated;

    beforeAll(async () => {
      coordinator = await isolatedCoordinator(`bound_${suffix}`, {
        MAX_IN_FLIGHT_PER_PARTICIPANT: String(MAX_IN_FLIGHT),
        HOLD_RETRY_MS: '100',
      });
    });

    afterAll(() => coordinator?.stop());

    it(`never has more than ${MAX_IN_FLIGHT} commands out at a slow participant, and completes every transaction`, async () => {
      // Handles every command at once, each taking 300 ms: only the coordinator limits it.
      let outstanding = 0;
      let mostOutstanding = 0;
      const slow = await coordinator.participant(
        `slow-${suffix}`,
        async () => {
          mostOutstanding = Math.max(mostOutstanding, ++outstanding);
          await sleep(300);
          outstanding--;
          return success();
        },
        true,
      );
      const { api } = coordinator;
      const flow = `bounded-${suffix}`;
      await api.register({
        name: flow,
        type: 'saga',
        defaults: { timeoutMs: 10_000 },
        steps: [
          { id: 'first', participant: slow.name, action: 'first', compensation: 'undo-first' },
          { id: 'second', participant: slow.name, action: 'second', compensation: 'undo-second', dependsOn: ['first'] },
        ],
      });

      const ids = await Promise.all(Array.from({ length: SAGAS }, (_, n) => api.start(flow, { n }).then((tx) => tx.id)));
      let mostInFlight = 0;
      const final: TxView[] = [];
      for (const id of ids) {
        for (;;) {
          const status = (await participants(api)).find((p) => p.participant === slow.name);
          mostInFlight = Math.max(mostInFlight, status?.inFlight ?? 0);
          const tx = await api.get(id);
          if (TERMINAL.includes(tx.status)) {
            final.push(tx);
            break;
          }
          await sleep(50);
        }
      }

      expect(final.map((tx) => tx.status)).toEqual(Array(SAGAS).fill('completed'));
      expect(mostOutstanding).toBe(MAX_IN_FLIGHT);
      expect(mostInFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
      expect(slow.log.filter((entry) => entry.effect)).toHaveLength(SAGAS * 2);
      const histories = await Promise.all(ids.map((id) => api.events(id)));
      const held = histories.flatMap((events) => holds(events, 'in_flight_limit'));
      expect(held.length).toBeGreaterThan(0);
      expect(held[0].data).toMatchObject({ participant: slow.name, phase: 'execute' });
      process.stdout.write(
        `[protection] ${SAGAS} sagas × 2 steps through a participant bounded to ${MAX_IN_FLIGHT} in flight: ` +
          `at most ${mostOutstanding} out at once, ${held.length} holds\n`,
      );
    });
  });
});
