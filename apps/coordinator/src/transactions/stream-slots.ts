/** Open live-update streams per API key, so one key cannot hold every connection and poll. */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(readonly maxPerOwner: number) {}

  /** Takes one of `owner`'s slots: the function that gives it back (once), or undefined when none is free. */
  take(owner: string): (() => void) | undefined {
    const count = this.open.get(owner) ?? 0;
    if (count >= this.maxPerOwner) return undefined;
    this.open.set(owner, count + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = this.open.get(owner)! - 1;
      if (left === 0) this.open.delete(owner);
      else this.open.set(owner, left);
    };
  }
}
