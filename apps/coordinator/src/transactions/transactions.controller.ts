import { Body, Controller, Get, Headers, HttpCode, HttpStatus, MessageEvent, Param, ParseUUIDPipe, Post, Query, Res, Sse } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { finalize, map, Observable } from 'rxjs';
import { ApiError } from '@ordo/platform';
import { ChangeFeed } from './change-feed';
import { OverviewQuery, Overview, StatusCounts, TransactionChanges, TransactionSummary } from './dto/insight-views.dto';
import {
  AbortDto,
  BulkNoteDto,
  BulkRetryDto,
  EditInputDto,
  EventsQuery,
  ListTransactionsQuery,
  NoteDto,
  RequiredNoteDto,
  ResolveStepDto,
  SetAttemptsDto,
  SkipStepDto,
  StartTransactionDto,
  TransactionFilterDto,
  WaitQuery,
} from './dto/transaction-requests.dto';
import {
  BulkPauseResult,
  BulkResumeResult,
  BulkRetryResult,
  DecisionView,
  EventPage,
  StepInputView,
  TransactionPage,
  TransactionView,
} from './dto/transaction-views.dto';
import { TimelineView } from './dto/timeline-view.dto';
import { InsightsService } from './insights.service';
import { TooManyWaiters, TransactionsService, WAITERS_RETRY_AFTER_S, WaitRequest } from './transactions.service';
import { Actor } from '../auth/principal.decorator';
import { RequireRole } from '../auth/roles.decorator';
import { CoordinatorConfig } from '../config/coordinator.config';
import { StreamSlots } from './stream-slots';

const uuid = new ParseUUIDPipe({ version: undefined });

const TOO_MANY_WAITERS = {
  status: 503,
  description: `TOO_MANY_WAITERS: MAX_WAITERS callers already wait on this instance; retry after Retry-After (${WAITERS_RETRY_AFTER_S} s), or without waitMs`,
};

/** `?waitMs` as a wait, given up when the client goes away; none for 0 or absent. */
function waitOf({ waitMs }: WaitQuery, response: FastifyReply): WaitRequest | undefined {
  if (!waitMs) return undefined;
  const gone = new AbortController();
  // 'close' also follows a complete answer; by then the wait has ended and the abort changes nothing.
  response.raw.once('close', () => gone.abort());
  return { ms: waitMs, signal: gone.signal };
}

/** A refusal for MAX_WAITERS tells when to come back. */
async function withRetryAfter<T>(response: FastifyReply, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof TooManyWaiters) void response.header('Retry-After', WAITERS_RETRY_AFTER_S);
    throw error;
  }
}

@ApiTags('transactions')
@ApiBearerAuth()
@Controller('transactions')
export class TransactionsController {
  private readonly streams: StreamSlots;

  constructor(
    private readonly transactions: TransactionsService,
    private readonly insights: InsightsService,
    private readonly feed: ChangeFeed,
    config: CoordinatorConfig,
  ) {
    this.streams = new StreamSlots(config.MAX_STREAMS_PER_KEY);
  }

  @Post()
  @RequireRole('starter')
  @ApiOperation({
    summary: 'Start a transaction of a registered definition',
    description:
      'With waitMs, the answer waits until the transaction has ended (completed, compensated or failed): 201 / 200 with the ended ' +
      'transaction, or 202 with the running one when waitMs passed first.',
  })
  @ApiResponse({ status: 201, type: TransactionView, description: 'Started (and, with waitMs, ended within it)' })
  @ApiResponse({
    status: 200,
    type: TransactionView,
    description: 'Already started by this caller with this idempotency key (and, with waitMs, ended within it)',
  })
  @ApiResponse({ status: 202, type: TransactionView, description: 'Started, or already started, and still running when waitMs passed' })
  @ApiResponse(TOO_MANY_WAITERS)
  async start(
    @Body() body: StartTransactionDto,
    @Query() query: WaitQuery,
    @Actor() actor: string,
    @Headers('traceparent') traceparent: string | undefined,
    @Res({ passthrough: true }) response: FastifyReply,
  ): Promise<TransactionView> {
    const wait = waitOf(query, response);
    const { view, created, ended } = await withRetryAfter(response, this.transactions.start(body, actor, traceparent, wait));
    response.status(wait && !ended ? 202 : created ? 201 : 200);
    return view;
  }

  @Get()
  @ApiOperation({ summary: 'List transactions, newest first (keyset pagination)' })
  @ApiOkResponse({ type: TransactionPage })
  list(@Query() query: ListTransactionsQuery): Promise<TransactionPage> {
    return this.transactions.list(query);
  }

  @Post('retry')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Replay every failed transaction matching the filter' })
  @ApiOkResponse({ type: BulkRetryResult })
  async bulkRetry(@Body() body: BulkRetryDto, @Actor() actor: string): Promise<BulkRetryResult> {
    return { retried: await this.transactions.bulkRetry(body, actor) };
  }

  @Post('pause')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause every running transaction matching the filter (oldest first, at most limit)' })
  @ApiOkResponse({ type: BulkPauseResult })
  async bulkPause(@Body() body: BulkNoteDto, @Actor() actor: string): Promise<BulkPauseResult> {
    return { paused: await this.transactions.bulkPause(body, actor) };
  }

  @Post('resume')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume every transaction an operator paused matching the filter (oldest first, at most limit)' })
  @ApiOkResponse({ type: BulkResumeResult })
  async bulkResume(@Body() body: BulkNoteDto, @Actor() actor: string): Promise<BulkResumeResult> {
    return { resumed: await this.transactions.bulkResume(body, actor) };
  }

  // Declared before ':id', which would otherwise take these paths for ids.
  @Get('counts')
  @ApiOperation({ summary: 'Transactions matching the filter, per status' })
  @ApiOkResponse({ type: StatusCounts })
  counts(@Query() filter: TransactionFilterDto): Promise<StatusCounts> {
    return this.insights.counts(filter);
  }

  @Get('overview')
  @ApiOperation({ summary: 'Throughput and outcome rates over a recent window, and stuck transactions' })
  @ApiOkResponse({ type: Overview })
  overview(@Query() query: OverviewQuery): Promise<Overview> {
    return this.insights.overview(query);
  }

  @Sse('stream')
  @ApiOperation({
    summary: 'Server-sent events: the transactions that changed, about once a second',
    description:
      'Each event\'s data is `{ "changes": [ summary, … ] }`. Needs the bearer header, so read it with fetch (not EventSource). ' +
      'At most MAX_STREAMS_PER_KEY open per API key on each instance; one more is 429 TOO_MANY_STREAMS.',
  })
  @ApiOkResponse({ type: TransactionChanges })
  stream(@Actor() actor: string): Observable<MessageEvent> {
    const release = this.streams.take(actor);
    if (!release) {
      const message = `${actor} already has ${this.streams.maxPerOwner} live-update streams open here; close one first`;
      throw new ApiError(HttpStatus.TOO_MANY_REQUESTS, 'TOO_MANY_STREAMS', message);
    }
    return this.feed.changes.pipe(
      map((rows) => ({ data: { changes: rows.map(TransactionSummary.of) } satisfies TransactionChanges })),
      // Runs when the client goes away (Nest unsubscribes) or the feed ends at shutdown.
      finalize(release),
    );
  }

  @Get(':id')
  @ApiOperation({
    summary: 'A transaction with its steps',
    description:
      'With waitMs, a long poll: answers as soon as the transaction has ended (completed, compensated or failed), or as it is ' +
      'when waitMs passed; its status tells which.',
  })
  @ApiOkResponse({ type: TransactionView })
  @ApiResponse(TOO_MANY_WAITERS)
  async get(@Param('id', uuid) id: string, @Query() query: WaitQuery, @Res({ passthrough: true }) response: FastifyReply): Promise<TransactionView> {
    return (await withRetryAfter(response, this.transactions.get(id, waitOf(query, response)))).view;
  }

  @Get(':id/decision')
  @RequireRole('participant')
  @ApiOperation({
    summary: "A transaction's 2PC decision, for a participant in doubt",
    description: 'All that a `participant` key may read. 404 TRANSACTION_NOT_FOUND: never decided (presumed abort).',
  })
  @ApiOkResponse({ type: DecisionView })
  decision(@Param('id', uuid) id: string): Promise<DecisionView> {
    return this.transactions.decision(id);
  }

  @Get(':id/timeline')
  @ApiOperation({
    summary: "The transaction's waterfall: per step phase, each attempt from dispatch to answer, the backoffs and holds, on one time axis",
    description: 'Built from the history (its first 10,000 events).',
  })
  @ApiOkResponse({ type: TimelineView })
  timeline(@Param('id', uuid) id: string): Promise<TimelineView> {
    return this.transactions.timeline(id);
  }

  @Get(':id/events')
  @ApiOperation({ summary: "The transaction's history, oldest first (keyset pagination)" })
  @ApiOkResponse({ type: EventPage })
  events(@Param('id', uuid) id: string, @Query() query: EventsQuery): Promise<EventPage> {
    return this.transactions.events(id, query);
  }

  @Post(':id/abort')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Roll back a running transaction' })
  @ApiOkResponse({ type: TransactionView })
  abort(@Param('id', uuid) id: string, @Body() body: AbortDto, @Actor() actor: string): Promise<TransactionView> {
    return this.transactions.abort(id, actor, body.reason);
  }

  @Post(':id/retry')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Replay a failed transaction: re-drive its failed steps with a fresh attempt budget' })
  @ApiOkResponse({ type: TransactionView })
  retry(@Param('id', uuid) id: string, @Actor() actor: string): Promise<TransactionView> {
    return this.transactions.retry(id, actor);
  }

  @Post(':id/steps/:stepId/resolve')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Record that an operator fixed a step by hand; the transaction proceeds' })
  @ApiOkResponse({ type: TransactionView })
  resolve(
    @Param('id', uuid) id: string,
    @Param('stepId') stepId: string,
    @Body() body: ResolveStepDto,
    @Actor() actor: string,
  ): Promise<TransactionView> {
    return this.transactions.resolve(id, stepId, body, actor);
  }

  @Post(':id/pause')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Pause a running transaction: nothing is sent and no timer runs until it is resumed; replies are still applied',
  })
  @ApiOkResponse({ type: TransactionView })
  pause(@Param('id', uuid) id: string, @Body() body: NoteDto, @Actor() actor: string): Promise<TransactionView> {
    return this.transactions.pause(id, actor, body.note);
  }

  @Post(':id/resume')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a paused transaction: every timer moves on by the time it was paused' })
  @ApiOkResponse({ type: TransactionView })
  resume(@Param('id', uuid) id: string, @Body() body: NoteDto, @Actor() actor: string): Promise<TransactionView> {
    return this.transactions.resume(id, actor, body.note);
  }

  @Post(':id/steps/:stepId/retry-now')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({ summary: "Send a step's scheduled retry now, skipping the rest of its backoff (or hold)" })
  @ApiOkResponse({ type: TransactionView })
  retryNow(@Param('id', uuid) id: string, @Param('stepId') stepId: string, @Body() body: NoteDto, @Actor() actor: string): Promise<TransactionView> {
    return this.transactions.retryNow(id, stepId, actor, body.note);
  }

  @Post(':id/steps/:stepId/attempts')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Set how many more attempts a step with an attempt out or scheduled may use in its current phase' })
  @ApiOkResponse({ type: TransactionView })
  setAttempts(
    @Param('id', uuid) id: string,
    @Param('stepId') stepId: string,
    @Body() body: SetAttemptsDto,
    @Actor() actor: string,
  ): Promise<TransactionView> {
    return this.transactions.setAttempts(id, stepId, body, actor);
  }

  @Post(':id/steps/:stepId/skip')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Count a saga step as succeeded with the given output, so that its dependents run' })
  @ApiOkResponse({ type: TransactionView })
  skip(@Param('id', uuid) id: string, @Param('stepId') stepId: string, @Body() body: SkipStepDto, @Actor() actor: string): Promise<TransactionView> {
    return this.transactions.skip(id, stepId, body, actor);
  }

  @Get(':id/steps/:stepId/input')
  @ApiOperation({ summary: "The input a step's next command carries: an operator's edit, or the one its definition maps" })
  @ApiOkResponse({ type: StepInputView })
  stepInput(@Param('id', uuid) id: string, @Param('stepId') stepId: string): Promise<StepInputView> {
    return this.transactions.stepInput(id, stepId);
  }

  @Post(':id/steps/:stepId/edit-and-retry')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({
    summary: "Edit a step's input and retry it: a step waiting for a retry is sent now, a stuck one replayed with a fresh budget",
    description:
      'The new input replaces the mapped one for every later command of the step (a saga compensation included; TCC and 2PC: ' +
      'only while the step is in its try / prepare phase). 409 STEP_NOT_RETRIABLE when nothing waits for a retry or an operator, ' +
      "NOT_APPLICABLE in a phase that must carry its first phase's input, PAUSED while paused; 413 INPUT_TOO_LARGE above MAX_INPUT_BYTES.",
  })
  @ApiOkResponse({ type: TransactionView })
  editInput(
    @Param('id', uuid) id: string,
    @Param('stepId') stepId: string,
    @Body() body: EditInputDto,
    @Actor() actor: string,
  ): Promise<TransactionView> {
    return this.transactions.editInput(id, stepId, body, actor);
  }

  @Post(':id/steps/:stepId/fail')
  @RequireRole('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Fail a step that has not answered its first phase yet: the rollback starts' })
  @ApiOkResponse({ type: TransactionView })
  failStep(
    @Param('id', uuid) id: string,
    @Param('stepId') stepId: string,
    @Body() body: RequiredNoteDto,
    @Actor() actor: string,
  ): Promise<TransactionView> {
    return this.transactions.failStep(id, stepId, body.note, actor);
  }
}
