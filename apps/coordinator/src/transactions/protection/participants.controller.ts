import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Actor } from '../../auth/principal.decorator';
import { RequireRole } from '../../auth/roles.decorator';
import { NoteDto } from '../dto/transaction-requests.dto';
import { ParticipantGate } from './participant-gate';
import { ParticipantPausing } from './participant-pausing';
import { ParticipantList, ParticipantParams, ParticipantPauseView, ParticipantResumeResult } from './participant-views.dto';

@ApiTags('participants')
@ApiBearerAuth()
@Controller('participants')
export class ParticipantsController {
  constructor(
    private readonly gate: ParticipantGate,
    private readonly pausing: ParticipantPausing,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'How the coordinator protects each participant: circuit breaker, commands in flight, pause, adaptive timeouts',
    description:
      'Every participant with commands in flight, a circuit breaker or an adaptive timeout on the instance that answers, or a pause. ' +
      'Breakers and reply times are per instance; in-flight counts and pauses are global.',
  })
  @ApiOkResponse({ type: ParticipantList })
  async list(): Promise<ParticipantList> {
    return { items: await this.gate.participants() };
  }

  @Post(':participant/pause')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Pause a participant: every command to it is held, and the transactions that need it pause, until it is resumed',
    description: 'Answers once every coordinator instance holds its commands (after PAUSE_REFRESH_MS). 409 ALREADY_PAUSED.',
  })
  @ApiOkResponse({ type: ParticipantPauseView })
  async pause(@Param() { participant }: ParticipantParams, @Body() body: NoteDto, @Actor() actor: string): Promise<ParticipantPauseView> {
    const pause = await this.pausing.pause(participant, actor, body.note ?? null);
    return { since: pause.pausedAt.toISOString(), by: pause.pausedBy, note: pause.note };
  }

  @Post(':participant/resume')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Resume a paused participant and every transaction that waited for it (their timers move on by the time paused)',
    description: '409 NOT_PAUSED.',
  })
  @ApiOkResponse({ type: ParticipantResumeResult })
  async resume(@Param() { participant }: ParticipantParams, @Body() body: NoteDto, @Actor() actor: string): Promise<ParticipantResumeResult> {
    return { participant, resumed: await this.pausing.resume(participant, actor, body.note ?? null) };
  }
}
