import { HttpStatus, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'timers/promises';
import { ApiError } from '@ordo/platform';
import { Ticker } from '../../alerts/ticker';
import { CoordinatorConfig } from '../../config/coordinator.config';
import { TransactionRepository } from '../persistence/transaction.repository';
import { TransactionsService } from '../transactions.service';
import { ParticipantPause, PausedParticipants } from './paused-participants';

/** Transactions resumed per read when a participant is resumed. */
const RESUME_BATCH = 100;

/** How often each instance looks for transactions a resume did not reach, in PAUSE_REFRESH_MS. */
const SWEEP_EVERY = 5;

/** The actor of resumes the sweep finishes: the operator's resume is in the audit log. */
export const SWEEP_ACTOR = 'ordo';

/**
 * Pausing and resuming participants. A pause answers once every instance has had
 * PAUSE_REFRESH_MS to read it, so that from then on none sends a new command to it. A
 * resume deletes the pause, then resumes the transactions that waited for it, in batches;
 * what it leaves undone (it crashed, or an instance paused one on a stale list meanwhile)
 * the sweep of every instance finishes.
 */
@Injectable()
export class ParticipantPausing implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ParticipantPausing.name);
  private readonly sweeper: Ticker;

  constructor(
    private readonly pauses: PausedParticipants,
    private readonly repository: TransactionRepository,
    private readonly transactions: TransactionsService,
    private readonly config: CoordinatorConfig,
  ) {
    this.sweeper = new Ticker(() => this.sweep(), config.PAUSE_REFRESH_MS * SWEEP_EVERY);
  }

  onApplicationBootstrap() {
    this.sweeper.start();
  }

  async onApplicationShutdown() {
    await this.sweeper.stop();
  }

  async pause(participant: string, actor: string, note: string | null): Promise<ParticipantPause> {
    if (!(await this.pauses.pause(participant, actor, note))) {
      throw new ApiError(HttpStatus.CONFLICT, 'ALREADY_PAUSED', `participant ${participant} is paused already`);
    }
    await sleep(this.config.PAUSE_REFRESH_MS);
    return (await this.pauses.list()).find((p) => p.participant === participant) ?? { participant, pausedBy: actor, note, pausedAt: new Date() };
  }

  /**
   * Resumes the participant and every transaction that waited for it; returns how many
   * waited. (A sweep may resume some of them first: they are counted all the same.)
   */
  async resume(participant: string, actor: string, note: string | null): Promise<number> {
    const waited = await this.pauses.resume(participant, actor, note);
    if (waited === null) throw new ApiError(HttpStatus.CONFLICT, 'NOT_PAUSED', `participant ${participant} is not paused`);
    for (let ids = await this.repository.idsPausedFor(participant, RESUME_BATCH); ids.length > 0;) {
      const applied = await this.transactions.applyToEach(ids, { type: 'participant_resumed', actor, participant });
      const next = await this.repository.idsPausedFor(participant, RESUME_BATCH);
      // Another instance paused these again on a list it had not read yet: its sweep resumes them.
      if (applied === 0 && next.every((id) => ids.includes(id))) break;
      ids = next;
    }
    return waited;
  }

  private async sweep(): Promise<void> {
    try {
      for (const { id, participant } of await this.repository.pausedForResumed(RESUME_BATCH)) {
        await this.transactions.applyToEach([id], { type: 'participant_resumed', actor: SWEEP_ACTOR, participant });
      }
    } catch (error) {
      this.logger.warn(`resuming transactions of resumed participants failed, will retry: ${(error as Error).message}`);
    }
  }
}
