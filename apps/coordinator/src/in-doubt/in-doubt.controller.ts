import { Body, Controller, Get, HttpCode, Param, Put, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Actor } from '../auth/principal.decorator';
import { RequireRole } from '../auth/roles.decorator';
import { NoteDto } from '../transactions/dto/transaction-requests.dto';
import { ParticipantParams } from '../transactions/protection/participant-views.dto';
import { InDoubtList, InDoubtView, PreparedReportAnswer, PreparedReportDto, PreparedWorkParams } from './in-doubt.dto';
import { InDoubtService } from './in-doubt.service';

@ApiTags('in-doubt')
@ApiBearerAuth()
@Controller()
export class InDoubtController {
  constructor(private readonly inDoubt: InDoubtService) {}

  @Put('participants/:participant/prepared')
  @RequireRole('participant')
  @ApiOperation({
    summary: 'A participant reports the prepared transactions (2PC) it holds',
    description:
      'Sent by the SDK every PREPARED_REPORT_MS; replaces what the participant reported before. ' +
      'The answer lists those an operator asked to finish now.',
  })
  @ApiOkResponse({ type: PreparedReportAnswer })
  report(@Param() { participant }: ParticipantParams, @Body() body: PreparedReportDto): Promise<PreparedReportAnswer> {
    return this.inDoubt.report(participant, body);
  }

  @Get('in-doubt')
  @ApiOperation({
    summary: 'Prepared transactions the participants hold, with what the coordinator knows of each',
    description: 'Those whose decision is known (or whose transaction is missing: presumed abort) should have been finished; they come first.',
  })
  @ApiOkResponse({ type: InDoubtList })
  async list(): Promise<InDoubtList> {
    return { items: await this.inDoubt.list() };
  }

  @Post('in-doubt/:participant/:txId/:stepId/finish')
  @RequireRole('operator')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Ask the participant to finish a prepared transaction now by its decision',
    description:
      'Handed to the participant with the answer to its next report; it asks for the decision and applies it (a missing transaction: abort). ' +
      '404 PREPARED_WORK_NOT_FOUND, 409 DECISION_PENDING (undecided: abort the transaction instead).',
  })
  @ApiOkResponse({ type: InDoubtView })
  finish(@Param() { participant, txId, stepId }: PreparedWorkParams, @Body() body: NoteDto, @Actor() actor: string): Promise<InDoubtView> {
    return this.inDoubt.requestFinish(participant, txId, stepId, actor, body.note ?? null);
  }
}
