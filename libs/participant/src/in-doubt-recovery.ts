import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { CoordinatorHttp } from './coordinator-http';
import { HandlerRegistry } from './handler-registry';
import { ParticipantConfig } from './participant.config';
import { PreparedOutcome, PreparedStep, PreparedTransactions } from './prepared-transactions';

/** What the coordinator says of a transaction a prepared transaction belongs to. */
type Verdict = PreparedOutcome | 'pending' | 'unknown';

const ASK_TIMEOUT_MS = 5_000;

/**
 * Finishes prepared transactions whose decision did not arrive, by asking the coordinator
 * (GET /api/v1/transactions/{id}/decision, which a `participant` key may read). A participant that restarts holding
 * prepared transactions is in doubt about all of them, so it asks before it consumes its
 * commands; while running, it asks about those prepared more than IN_DOUBT_AFTER_MS ago.
 * A transaction the coordinator does not know was never decided: presumed abort.
 *
 * Without ORDO_COORDINATOR_URL it only reports them: the coordinator redelivers the
 * decision until acknowledged, so they are finished all the same, later.
 */
@Injectable()
export class InDoubtRecovery implements OnModuleDestroy {
  private readonly logger = new Logger(InDoubtRecovery.name);
  private timer?: NodeJS.Timeout;
  private pass?: Promise<number>;

  constructor(
    private readonly registry: HandlerRegistry,
    private readonly prepared: PreparedTransactions,
    private readonly config: ParticipantConfig,
    private readonly coordinator: CoordinatorHttp,
  ) {}

  /** Resolves every prepared transaction left from before, then keeps watching. */
  async start(): Promise<void> {
    if (!this.registry.hasPreparedTransactions) return;
    await this.resolve(0);
    const every = this.config.IN_DOUBT_AFTER_MS / 2;
    this.timer = setInterval(
      () => void this.resolve(this.config.IN_DOUBT_AFTER_MS).catch((e) => this.logger.warn(`in-doubt check failed: ${(e as Error).message}`)),
      every,
    );
    this.timer.unref();
  }

  /** A pass under way finishes before the database connection closes. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.pass?.catch(() => undefined);
  }

  /** One pass over the prepared transactions older than `olderThanMs`; how many it finished. One pass at a time. */
  resolve(olderThanMs: number): Promise<number> {
    this.pass ??= this.resolveOnce(olderThanMs).finally(() => (this.pass = undefined));
    return this.pass;
  }

  private async resolveOnce(olderThanMs: number): Promise<number> {
    const inDoubt = await this.prepared.list(olderThanMs);
    if (inDoubt.length === 0) return 0;
    if (!this.coordinator.configured) {
      this.logger.warn(
        `${inDoubt.length} prepared transaction(s) in doubt, oldest ${inDoubt[0].gid}; waiting for the coordinator to resend the decision (set ORDO_COORDINATOR_URL to ask it)`,
      );
      return 0;
    }
    return this.settle(inDoubt);
  }

  /** Asks the coordinator about each and finishes those it has decided (or does not know: presumed abort); how many it finished. */
  async settle(inDoubt: readonly PreparedStep[]): Promise<number> {
    let finished = 0;
    for (const held of inDoubt) {
      const verdict = await this.ask(held);
      if (verdict === 'pending') continue;
      const outcome: PreparedOutcome = verdict === 'unknown' ? 'abort' : verdict;
      const reply = await this.prepared.finish(held.step, outcome, null);
      if (reply.outcome === 'success') finished++;
      const msg = `in doubt: ${held.gid} finished by ${outcome} (coordinator said ${verdict}); ${reply.outcome}`;
      this.logger.log({ txId: held.step.txId, stepId: held.step.stepId, msg });
    }
    return finished;
  }

  private async ask({ step, gid }: PreparedStep): Promise<Verdict> {
    try {
      const { status, body } = await this.coordinator.request('GET', `/transactions/${encodeURIComponent(step.txId)}/decision`, {
        timeoutMs: ASK_TIMEOUT_MS,
      });
      const answer = (body ?? {}) as { decision?: unknown; error?: { code?: string } };
      // Only the coordinator's own "no such transaction" presumes abort, never a wrong URL's 404.
      if (status === 404 && answer.error?.code === 'TRANSACTION_NOT_FOUND') return 'unknown';
      if (status < 200 || status > 299) throw new Error(`HTTP ${status} ${JSON.stringify(body)}`);
      const { decision } = answer;
      if (decision === 'commit' || decision === 'abort' || decision === 'pending') return decision;
      throw new Error(`no 2PC decision in the answer (decision: ${JSON.stringify(decision)})`);
    } catch (error) {
      this.logger.warn(`could not ask the coordinator about ${gid}: ${(error as Error).message}; asking again later`);
      return 'pending';
    }
  }
}
