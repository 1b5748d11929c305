import { InFlightCounter } from './in-flight-counter';

describe('InFlightCounter', () => {
  it('asks for a count when it has none or it is older than refreshMs', () => {
    const counter = new InFlightCounter(200);
    expect(counter.stale(['a', 'b', 'a'], 1_000)).toEqual(['a', 'b']);
    counter.update(['a', 'b'], new Map([['a', 3]]), 1_000, 1_000);
    expect([counter.count('a'), counter.count('b')]).toEqual([3, 0]);
    expect(counter.stale(['a', 'b'], 1_199)).toEqual([]);
    expect(counter.stale(['a', 'b'], 1_200)).toEqual(['a', 'b']);
  });

  it('adds the commands of open transactions, and committed ones until a count includes them', () => {
    const counter = new InFlightCounter(200);
    counter.update(['a'], new Map([['a', 1]]), 1_000, 1_000);
    counter.reserve('a');
    counter.reserve('a');
    expect(counter.count('a')).toBe(3);
    // The transaction committed one of its two commands at 1 100.
    counter.release('a', 2);
    counter.committed('a', 1_100);
    expect(counter.count('a')).toBe(2);
    // A count started before that commit cannot have seen it …
    counter.update(['a'], new Map([['a', 1]]), 1_050, 1_050);
    expect(counter.count('a')).toBe(2);
    // … one started after it has.
    counter.update(['a'], new Map([['a', 2]]), 1_150, 1_150);
    expect(counter.count('a')).toBe(2);
  });

  it('subtracts the commands ended since the count, and never goes below zero', () => {
    const counter = new InFlightCounter(200);
    counter.update(['a'], new Map([['a', 2]]), 1_000, 1_000);
    counter.ended('a', 1_100);
    expect(counter.count('a')).toBe(1);
    counter.update(['a'], new Map([['a', 1]]), 1_200, 1_200);
    expect(counter.count('a')).toBe(1);
    counter.ended('a', 1_300);
    counter.ended('a', 1_300);
    expect(counter.count('a')).toBe(0);
  });

  it('never counts less for not knowing when the query took its snapshot', () => {
    const counter = new InFlightCounter(200);
    counter.update(['a'], new Map([['a', 2]]), 1_000, 1_000);
    // Sent at 1 100, answered at 1 300: an end stamped at 1 200 may or may not be in it.
    counter.ended('a', 1_200);
    counter.committed('a', 1_250);
    counter.update(['a'], new Map([['a', 2]]), 1_100, 1_300);
    // Taken as seen (2 − 0) and the commit as unseen (+ 1): 3, the most it can be.
    expect(counter.count('a')).toBe(3);
    counter.ended('a', 1_301);
    expect(counter.count('a')).toBe(2);
  });

  it('keeps the newest count when queries finish out of order', () => {
    const counter = new InFlightCounter(200);
    counter.update(['a'], new Map([['a', 5]]), 2_000, 2_000);
    counter.update(['a'], new Map([['a', 9]]), 1_900, 1_900);
    expect(counter.count('a')).toBe(5);
  });
});
