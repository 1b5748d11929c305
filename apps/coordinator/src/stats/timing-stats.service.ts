import { Injectable } from '@nestjs/common';
import { FORWARD_PHASES, Phase } from '@ordo/protocol';
import { DefinitionsService } from '../definitions/definitions.service';
import { DefinitionTimings, StepTimings, TimingStats, TimingStatsQuery } from './dto/timing-stats.dto';
import { rollupWindow, SeriesSummary, summarize } from './timing-rollup';
import { TimingRollupRepository } from './timing-rollup.repository';

const rate = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);

/** Per definition and step, how long and how often it failed, over a recent window: read from the rollup, never from the history. */
@Injectable()
export class TimingStatsService {
  constructor(
    private readonly rollup: TimingRollupRepository,
    private readonly definitions: DefinitionsService,
  ) {}

  async stats(query: TimingStatsQuery, now = Date.now()): Promise<TimingStats> {
    const { bucketSeconds, from } = rollupWindow(query.windowMinutes, now);
    const series = summarize(await this.rollup.rows(bucketSeconds, new Date(from), query.definition));
    const names = [...new Set(series.map((s) => s.definitionName))].sort();
    return {
      from: new Date(from).toISOString(),
      windowMinutes: query.windowMinutes,
      bucketSeconds,
      definitions: await Promise.all(
        names.map((name) =>
          this.ofDefinition(
            name,
            series.filter((s) => s.definitionName === name),
          ),
        ),
      ),
    };
  }

  private async ofDefinition(name: string, series: SeriesSummary[]): Promise<DefinitionTimings> {
    const tx = series.find((s) => s.stepId === '');
    const ended = tx?.count ?? 0;
    const failed = tx?.needsOperator ?? 0;
    const compensated = (tx?.failures ?? 0) - failed;
    const layout = (await this.definitions.findVersion(name))?.definition.steps.map((s) => s.id) ?? [];
    const position = (s: SeriesSummary) => {
      const index = layout.indexOf(s.stepId);
      return (FORWARD_PHASES.includes(s.phase as Phase) ? 0 : 1_000_000) + (index < 0 ? layout.length : index);
    };
    const steps = series.filter((s) => s.stepId !== '').sort((a, b) => position(a) - position(b));
    return {
      name,
      transactions: {
        ended,
        completed: ended - compensated - failed,
        compensated,
        failed,
        failureRate: rate(compensated + failed, ended),
        durationMs: tx?.duration ?? null,
      },
      steps: steps.map((s): StepTimings => ({
        stepId: s.stepId,
        phase: s.phase,
        count: s.count,
        failures: s.failures,
        failureRate: rate(s.failures, s.count),
        retries: s.retries,
        durationMs: s.duration,
        totalMs: s.total,
      })),
    };
  }
}
