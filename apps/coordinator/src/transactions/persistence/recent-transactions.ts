import { TransactionRecord } from './transaction-record';
import { isFinished } from '../../engine';

/** What an entry is charged besides its input: the row's other fields and the steps, roughly. */
const ENTRY_OVERHEAD_BYTES = 1024;

/**
 * The live transactions this instance wrote or read last, as it wrote or read them: a
 * decision on a transaction found here needs no read before its write. An entry can be
 * stale (another instance wrote since); the write's version check then refuses the
 * decision, and the engine forgets the entry and reads the transaction again. Least
 * recently used entries go first once the inputs held pass `maxBytes`.
 */
export class RecentTransactions {
  private readonly entries = new Map<string, { record: TransactionRecord; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(id: string): TransactionRecord | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    // Map order is insertion order: moving the entry to the end keeps the oldest first.
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry.record;
  }

  /** Keeps `record` as the latest known state of its transaction; a finished one is dropped. */
  put(record: TransactionRecord): void {
    const previous = this.entries.get(record.id);
    this.forget(record.id);
    if (isFinished(record.state.status)) return;
    const bytes = previous?.bytes ?? ENTRY_OVERHEAD_BYTES + JSON.stringify(record.input).length;
    this.entries.set(record.id, { record, bytes });
    this.bytes += bytes;
    for (const [id] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.forget(id);
    }
  }

  forget(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.bytes -= entry.bytes;
  }
}
