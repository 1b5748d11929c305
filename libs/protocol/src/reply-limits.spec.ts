import { unstorableText } from './json-limits';
import { capErrorMessage, longerThan, REPLY_LIMITS } from './reply-limits';

const EMOJI = '\ud83d\ude00';
const characters = (text: string) => [...text].length;

describe('longerThan', () => {
  it('counts characters, not UTF-16 code units', () => {
    expect(longerThan('abc', 3)).toBe(false);
    expect(longerThan('abcd', 3)).toBe(true);
    expect(longerThan(EMOJI.repeat(3), 3)).toBe(false);
    expect(longerThan(EMOJI.repeat(4), 3)).toBe(true);
  });
});

describe('capErrorMessage', () => {
  const max = REPLY_LIMITS.errorMessageLength;

  it('keeps a message up to the limit as it is', () => {
    expect(capErrorMessage('only 1 left')).toBe('only 1 left');
    expect(capErrorMessage('x'.repeat(max))).toBe('x'.repeat(max));
    expect(capErrorMessage(EMOJI.repeat(max))).toBe(EMOJI.repeat(max));
  });

  it('cuts a longer one to the limit and says how long it was', () => {
    const capped = capErrorMessage('x'.repeat(max + 1));
    expect(characters(capped)).toBe(max);
    expect(capped).toMatch(/^x+… \[cut from 4097 characters\]$/);
  });

  // Both parities of the cut point against the pairs' code units.
  it.each([1, 2])('never cuts a surrogate pair in half (%d ASCII characters first)', (ascii) => {
    const capped = capErrorMessage('a'.repeat(ascii) + EMOJI.repeat(max));
    expect(characters(capped)).toBe(max);
    expect(unstorableText(capped)).toBeUndefined();
    expect(capped.endsWith(`${EMOJI}… [cut from ${max + ascii} characters]`)).toBe(true);
  });
});
