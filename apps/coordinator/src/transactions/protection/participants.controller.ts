import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ParticipantGate } from './participant-gate';
import { ParticipantList } from './participant-views.dto';

@ApiTags('participants')
@ApiBearerAuth()
@Controller('participants')
export class ParticipantsController {
  constructor(private readonly gate: ParticipantGate) {}

  @Get()
  @ApiOperation({
    summary: 'How the coordinator protects each participant: circuit breaker and commands in flight',
    description:
      'Every participant with commands in flight or a circuit breaker on the instance that answers. ' +
      'Breakers are per instance; in-flight counts are global.',
  })
  @ApiOkResponse({ type: ParticipantList })
  async list(): Promise<ParticipantList> {
    return { items: await this.gate.participants() };
  }
}
