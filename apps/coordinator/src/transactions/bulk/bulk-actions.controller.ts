import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { Actor } from '../../auth/principal.decorator';
import { RequireRole } from '../../auth/roles.decorator';
import { BulkActionCount, BulkActionList, BulkActionRequest, BulkActionView } from './bulk-action.dto';
import { BulkActionService } from './bulk-action.service';

/** Runs listed by GET /bulk-actions. */
const LISTED = 50;

@ApiTags('bulk-actions')
@ApiBearerAuth()
@Controller('bulk-actions')
export class BulkActionsController {
  constructor(private readonly bulk: BulkActionService) {}

  @Post()
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Apply an operator action to every transaction matching a filter, in batches; with dryRun, only count them',
    description: '200 with the count for a dry run; 202 with the run, whose progress GET /bulk-actions/{id} tells.',
  })
  @ApiResponse({ status: 200, type: BulkActionCount, description: 'Dry run: how many transactions it would go through' })
  @ApiResponse({ status: 202, type: BulkActionView, description: 'Started' })
  async start(
    @Body() body: BulkActionRequest,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: FastifyReply,
  ): Promise<BulkActionCount | BulkActionView> {
    const started = await this.bulk.start(body, actor);
    if (!('id' in started)) return started;
    response.status(202);
    return BulkActionView.of(started);
  }

  @Get()
  @ApiOperation({ summary: `The latest ${LISTED} bulk actions, newest first, with their progress` })
  @ApiOkResponse({ type: BulkActionList })
  async list(): Promise<BulkActionList> {
    return { items: (await this.bulk.latest(LISTED)).map(BulkActionView.of) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'A bulk action and its progress' })
  @ApiOkResponse({ type: BulkActionView })
  async get(@Param('id', new ParseUUIDPipe({ version: undefined })) id: string): Promise<BulkActionView> {
    return BulkActionView.of(await this.bulk.get(id));
  }
}
