import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { NULLABLE_STRING } from '@ordo/platform';
import { PARTICIPANT_NAME_PATTERN } from '@ordo/protocol';
import { Circuit, CIRCUITS } from '../../engine';
import { ParticipantStatus } from './participant-gate';
import { AdaptiveTimeoutStatus } from './reply-time-tracker';

export class ParticipantPauseView {
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) since: string;
  @ApiProperty({ example: 'ops-alice', description: 'The operator who paused it' }) by: string;
  @ApiProperty({ ...NULLABLE_STRING, example: 'database upgrade, ticket OPS-51' }) note: string | null;
}

export class AdaptiveTimeoutView implements AdaptiveTimeoutStatus {
  @ApiProperty({ example: 200, description: "The policy's shortest timeout" }) minMs: number;
  @ApiProperty({ example: 5000, description: "The policy's longest timeout: the timeout while too few replies are known" }) maxMs: number;
  @ApiProperty({ example: 99, description: 'The percentile of the recent reply times it follows' }) percentile: number;
  @ApiProperty({ example: 2, description: 'How many times that percentile an attempt waits' }) factor: number;
  @ApiProperty({ example: 412, description: 'The timeout in force: factor × percentileMs, within [minMs, maxMs]; maxMs without enough replies' })
  timeoutMs: number;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 206,
    description: 'The observed percentile of the reply times; null while fewer than REPLY_TIME_MIN_SAMPLES are known',
  })
  percentileMs: number | null;
  @ApiProperty({ example: 200, description: 'Reply times known (the latest, at most REPLY_TIME_WINDOW; a timeout counts as one its length)' })
  samples: number;
}

export class ParticipantView implements ParticipantStatus {
  @ApiProperty({ example: 'inventory' }) participant: string;
  @ApiProperty({
    enum: CIRCUITS,
    description: "This instance's circuit breaker: `open` holds every command back, `half_open` lets a few probes through",
  })
  circuit: Circuit;
  @ApiProperty({ example: 12, description: 'Commands awaiting a reply, across all coordinator instances' }) inFlight: number;
  @ApiProperty({
    example: 0.05,
    description: 'Share of unhealthy outcomes (timeouts, `retry`, failed compensations …) among the latest this instance saw, 0–1',
  })
  failureRatio: number;
  @ApiProperty({
    type: ParticipantPauseView,
    nullable: true,
    description: 'Set while an operator has it paused: every command to it is held (its transactions pause) until it is resumed',
  })
  paused: ParticipantPauseView | null;
  @ApiProperty({
    type: [AdaptiveTimeoutView],
    description: "This instance's adaptive step timeouts for it, one per policy its steps used here (empty without any)",
  })
  adaptiveTimeouts: AdaptiveTimeoutView[];
}

export class ParticipantList {
  @ApiProperty({ type: [ParticipantView] }) items: ParticipantView[];
}

export class ParticipantParams {
  @ApiProperty({ example: 'inventory' })
  @Matches(PARTICIPANT_NAME_PATTERN, { message: 'participant must be a participant name' })
  participant: string;
}

export class ParticipantResumeResult {
  @ApiProperty({ example: 'inventory' }) participant: string;
  @ApiProperty({ example: 50, description: 'Transactions that waited for it when it was resumed (all of them are resumed)' }) resumed: number;
}
