/**
 * Failure injection for tests and demos: makes a participant slow, flaky or crash, so the
 * coordinator's retries and timeouts and the barrier's exactly-once effects can be seen at
 * work. Nothing here works unless FAULT_INJECTION=on (refused with NODE_ENV=production):
 * otherwise `_fault` is ordinary input data, never acted on, and the FAULT_* settings are
 * refused at start. A step without an input mapping receives the whole transaction input,
 * so whoever may start a transaction could otherwise slow or crash every participant.
 *
 * - Settings (ParticipantConfig), for every command: FAULT_LATENCY_MS waits before the
 *   command is handled; FAULT_TRANSIENT_RATE answers that fraction of deliveries `retry`
 *   (code INJECTED_TRANSIENT) before the barrier and the business code run.
 * - Per command, `_fault` in its input (the handlers' input parsing drops it):
 *   `{ "transient"?: true, "latencyMs"?: number, "transientAttempts"?: number, "crash"?: "before-commit" | "after-commit", "phases"?: [...] }`
 *   - phases: the flags apply to commands of these phases only (default: every phase);
 *   - transient: every delivery is answered `retry`, as if a dependency were down;
 *   - transientAttempts: the first N attempts are answered `retry`, later ones are handled;
 *   - latencyMs: waits that long (on top of FAULT_LATENCY_MS) before handling it;
 *   - crash: the process exits at once with code 137, like a SIGKILL, either with the
 *     local transaction done but not committed (its effects are lost with the connection)
 *     or right after it committed, before the reply is published (for a prepare in a
 *     prepared transaction: before PREPARE TRANSACTION, or right after it; for its commit:
 *     before COMMIT PREPARED). Kafka then redelivers
 *     the command to the restarted process (its offset was never committed).
 *   A malformed `_fault` is refused with `failure` INVALID_INPUT, changing nothing.
 *
 * A crash fires once per (txId, stepId, phase, point): the process first records it in
 * `ordo_fault_crash`, outside the local transaction, so the redelivery after the restart
 * goes through instead of crashing again and again. Participants list the migration below
 * after OrdoBarrier's.
 */
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Type } from 'class-transformer';
import { IsArray, IsIn, IsInt, IsObject, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { setTimeout as sleep } from 'timers/promises';
import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { ALL_PHASES, Command, Phase } from '@ordo/protocol';
import { ReplyBody } from './barrier-rules';
import { BusinessFailure } from './failures';
import { parseInput } from './handler-input';
import { commandFields } from './run-handler';
import { ParticipantConfig } from './participant.config';

export const CRASH_POINTS = ['before-commit', 'after-commit'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** What a shell reports for a process killed by SIGKILL (128 + 9). */
export const CRASH_EXIT_CODE = 137;

export const FAULT_KEY = '_fault';

export class FaultFlags {
  @IsOptional()
  @IsIn([true], { message: 'transient must be true when present' })
  transient?: true;

  /** Attempts up to this one are answered `retry`; later attempts are handled. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  transientAttempts?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  latencyMs?: number;

  @IsOptional()
  @IsIn(CRASH_POINTS)
  crash?: CrashPoint;

  @IsOptional()
  @IsArray()
  @IsIn(ALL_PHASES, { each: true })
  phases?: Phase[];
}

class FaultInput {
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => FaultFlags)
  _fault?: FaultFlags | null;
}

/**
 * The `_fault` flags that apply to the command (none when absent, null or aimed at other
 * phases); throws BusinessFailure when malformed.
 */
export function faultFlags(command: Pick<Command, 'input' | 'phase'>): FaultFlags {
  // Every command passes here, and almost none carries flags: skip the validator for those.
  if (command.input[FAULT_KEY] === undefined || command.input[FAULT_KEY] === null) return {};
  const flags = parseInput(FaultInput, command.input)._fault ?? {};
  return flags.phases && !flags.phases.includes(command.phase) ? {} : flags;
}

/** The hooks CommandConsumer calls around each command. */
@Injectable()
export class FaultInjector {
  private readonly logger = new Logger('FaultInjection');
  private readonly enabled: boolean;

  constructor(
    private readonly config: ParticipantConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    this.enabled = config.FAULT_INJECTION === 'on';
  }

  /**
   * Before the command is handled: waits the added latency, then answers in its place
   * when a transient error is injected (or `_fault` is malformed). Null: handle it.
   */
  async beforeHandling(command: Command): Promise<ReplyBody | null> {
    if (!this.enabled) return null;
    let flags: FaultFlags;
    try {
      flags = faultFlags(command);
    } catch (error) {
      if (!(error instanceof BusinessFailure)) throw error;
      return { outcome: 'failure', error: { code: error.code, message: error.message } };
    }
    const latencyMs = this.config.FAULT_LATENCY_MS + (flags.latencyMs ?? 0);
    if (latencyMs > 0) await sleep(latencyMs);
    const transient = flags.transient || (flags.transientAttempts ?? 0) >= command.attempt;
    if (transient || Math.random() < this.config.FAULT_TRANSIENT_RATE) {
      return { outcome: 'retry', error: { code: 'INJECTED_TRANSIENT', message: 'transient failure injected for testing' } };
    }
    return null;
  }

  /**
   * Exits the process at once when the command asks to crash at `point` and has not
   * crashed there before. Never throws: when the crash cannot be recorded it is skipped,
   * since crashing without the record would repeat at every redelivery.
   */
  async crashIfRequested(point: CrashPoint, command: Command): Promise<void> {
    // A malformed `_fault` was refused before the command got this far.
    if (!this.enabled || faultFlags(command).crash !== point) return;
    const what = `${point} of ${command.action}/${command.phase} for ${command.txId}/${command.stepId}`;
    let first: unknown[];
    try {
      first = await this.dataSource.query(
        `INSERT INTO ordo_fault_crash (tx_id, step_id, phase, point) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING 1`,
        [command.txId, command.stepId, command.phase, point],
      );
    } catch (error) {
      this.logger.warn({ ...commandFields(command), msg: `not crashing at ${what}: the crash could not be recorded (${(error as Error).message})` });
      return;
    }
    if (first.length === 0) return;
    this.logger.warn({ ...commandFields(command), msg: `crashing at ${what}, as the command asks` });
    process.exit(CRASH_EXIT_CODE);
  }
}

/** The crashes already injected, so each fires once (see above). */
export class OrdoFaultCrash1763700000001 implements MigrationInterface {
  name = 'OrdoFaultCrash1763700000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ordo_fault_crash (
        tx_id       text        NOT NULL,
        step_id     text        NOT NULL,
        phase       text        NOT NULL,
        point       text        NOT NULL,
        crashed_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tx_id, step_id, phase, point)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE ordo_fault_crash');
  }
}
