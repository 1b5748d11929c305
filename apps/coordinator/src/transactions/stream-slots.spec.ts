import { StreamSlots } from './stream-slots';

describe('StreamSlots', () => {
  it('gives each owner its own slots, each back once', () => {
    const slots = new StreamSlots(2);
    const first = slots.take('ann')!;
    expect(slots.take('ann')).toBeDefined();
    expect(slots.take('ann')).toBeUndefined();
    expect(slots.take('bob')).toBeDefined();
    first();
    first();
    expect(slots.take('ann')).toBeDefined();
    expect(slots.take('ann')).toBeUndefined();
  });
});
