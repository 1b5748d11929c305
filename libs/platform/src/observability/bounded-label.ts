/** The value that stands for every value past a label's limit. */
export const OTHER_LABEL = '_other';

const MAX_LENGTH = 64;

/**
 * Keeps a label's values few, so a metric's series stay bounded whatever callers send:
 * the first `limit` distinct values are kept (cut to 64 characters), every later one is
 * reported as `_other`. Labels carry names (definitions, participants, actions), never
 * ids; this is the guard against a name space that grows without end.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(private readonly limit: number) {}

  of(value: string | null | undefined): string {
    const label = (value ?? '').slice(0, MAX_LENGTH) || 'none';
    if (this.seen.has(label)) return label;
    if (this.seen.size >= this.limit) return OTHER_LABEL;
    this.seen.add(label);
    return label;
  }
}
