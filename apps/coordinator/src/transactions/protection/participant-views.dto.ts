import { ApiProperty } from '@nestjs/swagger';
import { Circuit, CIRCUITS } from '../../engine';
import { ParticipantStatus } from './participant-gate';

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
}

export class ParticipantList {
  @ApiProperty({ type: [ParticipantView] }) items: ParticipantView[];
}
