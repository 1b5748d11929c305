import { validateConfig } from '@ordo/platform';
import { CoordinatorConfig } from '../../config/coordinator.config';
import { resolveDefinition, TransactionState } from '../../engine';
import { ReplyFlowMonitor } from './reply-flow-monitor';
import { ReplyTimeTracker, TimedDecision } from './reply-time-tracker';

const policy = { minMs: 100, maxMs: 5000, percentile: 50, factor: 2 };
const definition = resolveDefinition({
  name: 'n',
  type: 'saga',
  steps: [{ id: 'charge', participant: 'bank', action: 'charge', adaptiveTimeout: policy }],
});
const layout = [{ id: 'charge', participant: 'bank' }];
const effective = definition.steps[0].adaptiveTimeout!;

/** A transaction whose `charge` awaits attempt 1, sent at `sentAt` with `timeoutMs`. */
const awaiting = (sentAt: number, timeoutMs: number): TransactionState => ({
  status: 'running',
  paused: null,
  startedAt: 0,
  deadline: null,
  rollback: null,
  steps: {
    charge: {
      phase: 'execute',
      attempt: 1,
      attemptsLeft: 2,
      waitingFor: 'reply',
      dueAt: sentAt + timeoutMs,
      timeoutMs,
      status: 'running',
      output: null,
      lastError: null,
    },
  },
});

const replied = (sentAt: number, now: number, attempt = 1): TimedDecision => ({
  record: { layout, state: awaiting(sentAt, 5000) },
  definition,
  effects: [{ kind: 'record', event: { type: 'step.replied', stepId: 'charge', phase: 'execute', attempt, outcome: 'success' } }],
  now,
});
const timedOut = (timeoutMs: number): TimedDecision => ({
  record: { layout, state: awaiting(0, timeoutMs) },
  definition,
  effects: [{ kind: 'record', event: { type: 'step.timed_out', stepId: 'charge', phase: 'execute', attempt: 1 } }],
  now: timeoutMs,
});

function setUp() {
  const config = validateConfig(CoordinatorConfig, {
    DATABASE_URL: 'postgres://u@db/ordo',
    KAFKA_BROKERS: 'k:9092',
    ORDO_API_KEYS: 'ops:admin:tracker-spec-key-0123456789',
    REPLY_TIME_WINDOW: '4',
    REPLY_TIME_MIN_SAMPLES: '3',
  });
  const flow = { stalled: false };
  const tracker = new ReplyTimeTracker(config, { stalled: () => flow.stalled } as ReplyFlowMonitor);
  return { tracker, flow };
}

describe('ReplyTimeTracker', () => {
  it('follows a participant from the first command of an adaptive step to it on, at maxMs until enough is known', () => {
    const { tracker } = setUp();
    tracker.committed([replied(1000, 1300), replied(0, 100), replied(500, 700)]);
    expect(tracker.participants()).toEqual([]);
    expect(tracker.estimate('bank', effective)).toBeNull();
    expect(tracker.participants()).toEqual(['bank']);
    expect(tracker.statusOf('bank')).toEqual([{ ...effective, timeoutMs: 5000, percentileMs: null, samples: 0 }]);
    expect(tracker.inForce()).toEqual([{ participant: 'bank', policy: 'p50x2:100-5000ms', timeoutMs: 5000 }]);
  });

  it('learns each reply time since its attempt was sent, up to the window, and shows the timeout in force', () => {
    const { tracker } = setUp();
    tracker.estimate('bank', effective);
    tracker.committed([replied(1000, 1300), replied(0, 100), replied(500, 700)]);
    expect(tracker.estimate('bank', effective)).toEqual({ percentileMs: 200, samples: 3 });
    tracker.committed([replied(0, 900), replied(0, 1000), replied(0, 1100)]);
    // The window keeps 4: 300 and 100 ms left it.
    expect(tracker.estimate('bank', effective)).toEqual({ percentileMs: 900, samples: 4 });
    expect(tracker.statusOf('bank')).toEqual([{ ...effective, timeoutMs: 1800, percentileMs: 900, samples: 4 }]);
  });

  it('counts a timeout as a reply time of its length, except while the replies pile up unconsumed', () => {
    const { tracker, flow } = setUp();
    tracker.estimate('bank', effective);
    tracker.committed([timedOut(400), timedOut(400)]);
    flow.stalled = true;
    tracker.committed([timedOut(9000)]);
    flow.stalled = false;
    tracker.committed([timedOut(800)]);
    expect(tracker.estimate('bank', effective)).toEqual({ percentileMs: 400, samples: 3 });
  });

  it('ignores what does not answer the awaited attempt (stale, or sent in the same batch)', () => {
    const { tracker } = setUp();
    tracker.estimate('bank', effective);
    tracker.committed([replied(0, 100, 2), replied(0, 100, 2), replied(0, 100, 2)]);
    expect(tracker.statusOf('bank')).toEqual([{ ...effective, timeoutMs: 5000, percentileMs: null, samples: 0 }]);
  });
});
