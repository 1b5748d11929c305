import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { TimingStats, TimingStatsQuery } from './dto/timing-stats.dto';
import { TimingStatsService } from './timing-stats.service';

@ApiTags('stats')
@ApiBearerAuth()
@Controller('stats')
export class StatsController {
  constructor(private readonly stats: TimingStatsService) {}

  @Get('definitions')
  @ApiOperation({
    summary: 'Per definition and step: p50/p95/p99 durations and failure rates of the transactions that ended in a recent window',
    description:
      'Read from the timing rollup (per minute and per hour), which the coordinator fills a few seconds after each end: ' +
      'it costs the same whatever the number of transactions.',
  })
  @ApiOkResponse({ type: TimingStats })
  definitions(@Query() query: TimingStatsQuery): Promise<TimingStats> {
    return this.stats.stats(query);
  }
}
