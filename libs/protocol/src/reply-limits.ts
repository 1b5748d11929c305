/**
 * Caps on the fields of a reply. The coordinator stores what a reply carries: its ids and
 * error in the history, its output in the transaction row (rewritten by every later
 * decision) and, through input mappings, in later commands. Lengths count characters
 * (Unicode code points), as JSON Schema's maxLength does.
 */
export const REPLY_LIMITS = {
  /** `txId` and `stepId`; longer: refused (Ordo's own ids are far shorter). */
  idLength: 200,
  /** `token`; longer: refused (the coordinator's are 22). */
  tokenLength: 100,
  /** `error.code`; longer: refused. */
  errorCodeLength: 100,
  /** `error.message`; longer: cut to this length and marked, so the reply still counts. */
  errorMessageLength: 4096,
  /** Default cap on `output`, in bytes of its JSON (the coordinator's MAX_REPLY_OUTPUT_BYTES); larger: refused. */
  outputBytes: 64 * 1024,
} as const;

/** Whether `text` has more than `max` characters, counting no further than needed. */
export function longerThan(text: string, max: number): boolean {
  // A string has at least as many UTF-16 code units as characters.
  if (text.length <= max) return false;
  let count = 0;
  for (const _ of text) if (++count > max) return true;
  return false;
}

/**
 * `message` as stored: within REPLY_LIMITS.errorMessageLength characters. A longer one is
 * cut at a character boundary (never inside a surrogate pair) and ends with a mark saying
 * how long it was.
 */
export function capErrorMessage(message: string): string {
  const max = REPLY_LIMITS.errorMessageLength;
  if (!longerThan(message, max)) return message;
  let total = 0;
  for (const _ of message) total++;
  const mark = `… [cut from ${total} characters]`;
  let end = 0;
  let kept = 0;
  for (const character of message) {
    if (kept++ === max - mark.length) break;
    end += character.length;
  }
  return message.slice(0, end) + mark;
}
