import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { NULLABLE_STRING } from '@ordo/platform';
import { PARTICIPANT_NAME_PATTERN } from '@ordo/protocol';
import { Circuit, CIRCUITS } from '../../engine';
import { ParticipantStatus } from './participant-gate';

export class ParticipantPauseView {
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) since: string;
  @ApiProperty({ example: 'ops-alice', description: 'The operator who paused it' }) by: string;
  @ApiPropertyOptional({ ...NULLABLE_STRING, example: 'database upgrade, ticket OPS-51' }) note: string | null;
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
  @ApiPropertyOptional({
    type: ParticipantPauseView,
    nullable: true,
    description: 'Set while an operator has it paused: every command to it is held (its transactions pause) until it is resumed',
  })
  paused: ParticipantPauseView | null;
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
  @ApiProperty({ example: 50, description: 'Transactions that waited for it and were resumed' }) resumed: number;
}
