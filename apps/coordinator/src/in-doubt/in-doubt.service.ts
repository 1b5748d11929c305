import { HttpStatus, Injectable } from '@nestjs/common';
import { ApiError } from '@ordo/platform';
import { shouldBeFinished, verdictOf } from './in-doubt';
import { InDoubtView, PreparedReportAnswer, PreparedReportDto } from './in-doubt.dto';
import { PreparedWorkRepository, PreparedWorkRow } from './prepared-work.repository';

/**
 * The in-doubt view of 2PC: the prepared transactions participants hold, next to what the
 * coordinator knows of them, and the operator's "finish now" (handed to the participant with
 * the answer to its next report: it asks for the decision and applies it, as its in-doubt
 * recovery does).
 */
@Injectable()
export class InDoubtService {
  constructor(private readonly work: PreparedWorkRepository) {}

  async report(participant: string, report: PreparedReportDto): Promise<PreparedReportAnswer> {
    return { finish: await this.work.report(participant, report.instance, report.items) };
  }

  async list(): Promise<InDoubtView[]> {
    const views = (await this.work.list()).map(viewOf);
    // Stable: the oldest first within each group.
    return [...views.filter((v) => v.shouldBeFinished), ...views.filter((v) => !v.shouldBeFinished)];
  }

  async requestFinish(participant: string, txId: string, stepId: string, actor: string, note: string | null): Promise<InDoubtView> {
    const found = await this.work.find(participant, txId, stepId);
    if (!found) throw notFound(participant, txId, stepId);
    const view = viewOf(found);
    if (!view.shouldBeFinished) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        'DECISION_PENDING',
        `transaction ${txId} has no decision yet: nothing to finish ${stepId} with (abort the transaction to roll it back)`,
      );
    }
    if (!(await this.work.requestFinish(found, actor, note))) throw notFound(participant, txId, stepId);
    return viewOf((await this.work.find(participant, txId, stepId)) ?? found);
  }
}

const notFound = (participant: string, txId: string, stepId: string) =>
  new ApiError(HttpStatus.NOT_FOUND, 'PREPARED_WORK_NOT_FOUND', `${participant} reports no prepared transaction for ${txId}/${stepId}`);

function viewOf(row: PreparedWorkRow): InDoubtView {
  const verdict = verdictOf(row.tx);
  return {
    participant: row.participant,
    txId: row.tx_id,
    stepId: row.step_id,
    gid: row.gid,
    xid: row.xid,
    preparedAt: row.prepared_at.toISOString(),
    heldMs: Math.max(0, row.now.getTime() - row.prepared_at.getTime()),
    relations: row.relations,
    waiters: row.waiters,
    verdict,
    shouldBeFinished: shouldBeFinished(verdict),
    reportedBy: row.reported_by,
    reportedAt: row.reported_at.toISOString(),
    finishRequestedBy: row.finish_requested_by,
    finishRequestedAt: row.finish_requested_at?.toISOString() ?? null,
  };
}
