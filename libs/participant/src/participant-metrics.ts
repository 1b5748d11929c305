import { Inject, Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry } from 'prom-client';
import { BoundedLabel } from '@ordo/platform';
import { Command, Outcome } from '@ordo/protocol';
import { BarrierDecisionKind } from './barrier-rules';
import { PARTICIPANT_OPTIONS, ParticipantOptions } from './participant.options';

/** Most distinct actions the action label keeps; commands can name any action. */
const ACTION_LIMIT = 200;

/** A participant's Prometheus metrics: how its commands were handled. */
@Injectable()
export class ParticipantMetrics {
  private readonly actions = new BoundedLabel(ACTION_LIMIT);
  private readonly duration: Histogram<'participant' | 'action' | 'phase' | 'outcome'>;
  private readonly barrier: Counter<'participant' | 'kind'>;
  private readonly deadLetters: Counter<'participant'>;
  private readonly reruns: Counter<'participant'>;

  constructor(
    registry: Registry,
    @Inject(PARTICIPANT_OPTIONS) private readonly options: ParticipantOptions,
  ) {
    const registers = [registry];
    this.duration = new Histogram({
      name: 'ordo_participant_command_duration_seconds',
      help: 'From receiving a command to publishing its reply, by participant, action, phase and outcome',
      labelNames: ['participant', 'action', 'phase', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.barrier = new Counter({
      name: 'ordo_participant_barrier_decisions_total',
      help: 'Barrier decisions on commands run in a local transaction: run, duplicate, hanging, null_compensation',
      labelNames: ['participant', 'kind'],
      registers,
    });
    this.reruns = new Counter({
      name: 'ordo_participant_savepoint_reruns_total',
      help: 'Local transactions rolled back and run again with a savepoint per handler, because a handler did not succeed',
      labelNames: ['participant'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'ordo_participant_dead_letters_total',
      help: 'Malformed commands sent to the dead-letter topic',
      labelNames: ['participant'],
      registers,
    });
  }

  handled(command: Command, outcome: Outcome, seconds: number): void {
    const labels = { participant: this.options.name, action: this.actions.of(command.action), phase: command.phase, outcome };
    this.duration.observe(labels, seconds);
  }

  barrierDecided(kind: BarrierDecisionKind): void {
    this.barrier.inc({ participant: this.options.name, kind });
  }

  ranAgainWithSavepoints(): void {
    this.reruns.inc({ participant: this.options.name });
  }

  deadLettered(): void {
    this.deadLetters.inc({ participant: this.options.name });
  }
}
