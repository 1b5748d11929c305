import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { hostname } from 'os';
import { CoordinatorHttp } from './coordinator-http';
import { HandlerRegistry } from './handler-registry';
import { InDoubtRecovery } from './in-doubt-recovery';
import { ParticipantConfig } from './participant.config';
import { PARTICIPANT_OPTIONS, ParticipantOptions } from './participant.options';
import { PreparedStep, PreparedTransactions } from './prepared-transactions';

const REPORT_TIMEOUT_MS = 5_000;

/**
 * Reports the prepared transactions this participant holds to the coordinator every
 * PREPARED_REPORT_MS (PUT /participants/{name}/prepared), so that operators see them, how
 * long they have held their locks and whether they should have been finished. The answer
 * names those an operator asked to finish now: they are settled at once, as in-doubt
 * recovery would settle them later.
 */
@Injectable()
export class PreparedReporter implements OnModuleDestroy {
  private readonly logger = new Logger(PreparedReporter.name);
  private readonly instance = `${hostname()}-${process.pid}`;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** An empty report is sent once: the next ones would say the same. */
  private reportedEmpty = false;

  constructor(
    @Inject(PARTICIPANT_OPTIONS) private readonly options: ParticipantOptions,
    private readonly registry: HandlerRegistry,
    private readonly prepared: PreparedTransactions,
    private readonly recovery: InDoubtRecovery,
    private readonly coordinator: CoordinatorHttp,
    private readonly config: ParticipantConfig,
  ) {}

  start(): void {
    if (!this.registry.hasPreparedTransactions || !this.coordinator.configured) return;
    this.timer = setInterval(() => {
      this.running ??= this.report()
        .catch((error) => this.logger.warn(`reporting prepared transactions failed: ${(error as Error).message}`))
        .finally(() => (this.running = undefined));
    }, this.config.PREPARED_REPORT_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One report, then the finishes it asks for. */
  async report(): Promise<void> {
    const held = await this.prepared.list(0);
    if (held.length === 0 && this.reportedEmpty) return;
    const items = held.map((p) => ({ gid: p.gid, ...p.step, xid: p.xid, preparedAt: p.preparedAt, relations: p.relations, waiters: p.waiters }));
    const { status, body } = await this.coordinator.request('PUT', `/participants/${this.options.name}/prepared`, {
      body: { instance: this.instance, items },
      timeoutMs: REPORT_TIMEOUT_MS,
    });
    if (status !== 200) throw new Error(`HTTP ${status} ${JSON.stringify(body)}`);
    this.reportedEmpty = held.length === 0;
    const asked = new Set(((body as { finish?: { txId: string; stepId: string }[] }).finish ?? []).map((s) => `${s.txId}:${s.stepId}`));
    const toFinish: PreparedStep[] = held.filter((p) => asked.has(`${p.step.txId}:${p.step.stepId}`));
    if (toFinish.length > 0) await this.recovery.settle(toFinish);
  }
}
