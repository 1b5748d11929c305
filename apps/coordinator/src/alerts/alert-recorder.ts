import { Injectable, Logger } from '@nestjs/common';
import { AlertRepository } from './alert.repository';

const MINUTE_MS = 60_000;
/** A dead letter's reason text can quote the whole message: an alert carries its start. */
const MESSAGE_CHARS = 500;

/** A reply sent to the dead-letter topic. */
export interface DeadLetter {
  reason: string;
  message: string;
  txId: string | null;
}

/**
 * Records alerts about events that have no database transaction of their own (a circuit
 * opening, dead letters), for the dispatcher to deliver. Never throws: an alert that cannot
 * be recorded is logged, and the event's own work goes on.
 *
 * Each instance sees these on its own (its breakers, its reply partitions), so one alert
 * stands for each participant's circuit, and each dead-letter reason, per minute: the dedupe
 * key makes the others' the same row. The metrics still count every one.
 */
@Injectable()
export class AlertRecorder {
  private readonly logger = new Logger(AlertRecorder.name);

  constructor(private readonly alerts: AlertRepository) {}

  circuitOpened(participant: string, failureRatio: number, openMs: number, now = Date.now()): void {
    this.record(
      this.alerts.record({
        kind: 'circuit_open',
        txId: null,
        participant,
        definition: null,
        data: { failureRatio: Number(failureRatio.toFixed(2)), openMs },
        dedupeKey: `circuit_open:${participant}:${Math.floor(now / MINUTE_MS)}`,
      }),
    );
  }

  /** One alert per reason among a batch's dead letters, with how many and the first one's reason text. */
  deadLettered(letters: readonly DeadLetter[], now = Date.now()): void {
    for (const reason of new Set(letters.map((l) => l.reason))) {
      const same = letters.filter((l) => l.reason === reason);
      this.record(
        this.alerts.record({
          kind: 'dead_letter',
          txId: null,
          participant: null,
          definition: null,
          data: {
            reason,
            message: same[0].message.slice(0, MESSAGE_CHARS),
            count: same.length,
            transactionIds: same.flatMap((l) => (l.txId ? [l.txId] : [])).slice(0, 10),
          },
          dedupeKey: `dead_letter:${reason}:${Math.floor(now / MINUTE_MS)}`,
        }),
      );
    }
  }

  private record(recording: Promise<void>): void {
    recording.catch((error: Error) => this.logger.warn(`an alert could not be recorded: ${error.message}`));
  }
}
