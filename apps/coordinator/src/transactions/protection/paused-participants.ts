import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CoordinatorConfig } from '../../config/coordinator.config';

/** A participant an operator paused: every command to it is held until it is resumed. */
export interface ParticipantPause {
  readonly participant: string;
  readonly pausedBy: string;
  readonly note: string | null;
  readonly pausedAt: Date;
}

/**
 * The paused participants (table `paused_participants`), as this instance last read them:
 * read again once older than PAUSE_REFRESH_MS, by one query however many batches ask.
 * Pausing and resuming write the table and its audit entry in one database transaction.
 */
@Injectable()
export class PausedParticipants {
  private known: { names: ReadonlySet<string>; readAt: number } = { names: new Set(), readAt: -Infinity };
  private reading?: Promise<ReadonlySet<string>>;
  /** Bumped by this instance's own changes: a read begun before one must not be kept. */
  private generation = 0;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: CoordinatorConfig,
  ) {}

  /** The paused participants' names, fresh within PAUSE_REFRESH_MS. */
  async names(): Promise<ReadonlySet<string>> {
    const now = Date.now();
    if (now - this.known.readAt < this.config.PAUSE_REFRESH_MS) return this.known.names;
    if (!this.reading) {
      const generation = this.generation;
      const reading = this.list().then((pauses) => {
        const names = new Set(pauses.map((p) => p.participant));
        if (generation === this.generation) this.known = { names, readAt: now };
        return names;
      });
      this.reading = reading;
      void reading
        .catch(() => undefined)
        .finally(() => {
          if (this.reading === reading) this.reading = undefined;
        });
    }
    return this.reading;
  }

  async list(): Promise<ParticipantPause[]> {
    const rows: { participant: string; paused_by: string; note: string | null; paused_at: Date }[] = await this.dataSource.query(
      'SELECT participant, paused_by, note, paused_at FROM paused_participants ORDER BY participant',
    );
    return rows.map((r) => ({ participant: r.participant, pausedBy: r.paused_by, note: r.note, pausedAt: r.paused_at }));
  }

  /** Pauses it, audited; false when it was paused already. */
  async pause(participant: string, actor: string, note: string | null): Promise<boolean> {
    const paused = await this.dataSource.transaction(async (manager) => {
      const rows: unknown[] = await manager.query(
        'INSERT INTO paused_participants (participant, paused_by, note) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING participant',
        [participant, actor, note],
      );
      if (rows.length > 0) await audit(manager, 'operator.participant_paused', actor, { participant, note });
      return rows.length > 0;
    });
    this.forget();
    return paused;
  }

  /**
   * Resumes it, audited: how many transactions waited for it at that moment (counted in the
   * same database transaction, so whichever instance resumes them, they are counted once);
   * null when it was not paused.
   */
  async resume(participant: string, actor: string, note: string | null): Promise<number | null> {
    const waited = await this.dataSource.transaction(async (manager) => {
      // TypeORM answers a DELETE with [rows, count].
      const [rows]: [{ paused_at: Date }[], number] = await manager.query(
        'DELETE FROM paused_participants WHERE participant = $1 RETURNING paused_at',
        [participant],
      );
      if (rows.length === 0) return null;
      const pausedMs = Date.now() - rows[0].paused_at.getTime();
      await audit(manager, 'operator.participant_resumed', actor, { participant, note, pausedMs });
      const [{ count }]: { count: string }[] = await manager.query(
        `SELECT count(*) FROM transactions WHERE paused IS NOT NULL AND paused -> 'participants' ? $1`,
        [participant],
      );
      return Number(count);
    });
    this.forget();
    return waited;
  }

  /** This instance's own change counts at once. */
  private forget(): void {
    this.generation++;
    this.known = { ...this.known, readAt: -Infinity };
    this.reading = undefined;
  }
}

function audit(manager: { query(sql: string, params: unknown[]): Promise<unknown> }, type: string, actor: string, data: object) {
  return manager.query('INSERT INTO audit_log (type, actor, data, at) VALUES ($1, $2, $3, now())', [type, actor, JSON.stringify(data)]);
}
