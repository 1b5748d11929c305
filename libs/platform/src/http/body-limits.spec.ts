import { HttpException } from '@nestjs/common';
import { JsonBodyPipe } from './body-limits';

class SomeDto {}
const pipe = new JsonBodyPipe();
const deep = JSON.parse('{"a":'.repeat(70) + '1' + '}'.repeat(70));

function refusal(value: unknown, metatype: (new () => unknown) | undefined = SomeDto) {
  try {
    pipe.transform(value, { type: 'body', metatype });
  } catch (error) {
    return [(error as HttpException).getStatus(), (error as HttpException).getResponse()];
  }
  return undefined;
}

describe('JsonBodyPipe', () => {
  it('passes ordinary bodies, and leaves query and path parameters alone', () => {
    expect(pipe.transform({ a: [1, { b: 'c' }] }, { type: 'body', metatype: SomeDto })).toEqual({ a: [1, { b: 'c' }] });
    expect(pipe.transform(deep, { type: 'query', metatype: SomeDto })).toBe(deep);
  });

  it('refuses a body nested deeper than 64 levels with 400 VALIDATION_FAILED and the path', () => {
    expect(refusal({ input: deep })).toEqual([
      400,
      {
        error: {
          code: 'VALIDATION_FAILED',
          message: expect.stringMatching(/^input\.a\.a.*: nested deeper than 64 levels$/),
          details: [expect.anything()],
        },
      },
    ]);
  });

  it('refuses U+0000 in a DTO body, not in a raw one (its own validator reports it)', () => {
    expect(refusal({ reason: 'a\u0000b' })).toEqual([
      400,
      expect.objectContaining({ error: expect.objectContaining({ message: 'reason: must not contain U+0000' }) }),
    ]);
    expect(refusal({ reason: 'a\u0000b' }, Object)).toBeUndefined();
    expect(refusal(deep, Object)).toEqual([400, expect.anything()]);
  });

  it('refuses an unpaired surrogate in a DTO body, in the usual error shape', () => {
    expect(refusal({ note: { text: 'cut \ud83d' } })).toEqual([
      400,
      {
        error: {
          code: 'VALIDATION_FAILED',
          message: 'note.text: must not contain an unpaired UTF-16 surrogate (U+D83D)',
          details: [{ path: 'note.text', message: 'must not contain an unpaired UTF-16 surrogate (U+D83D)' }],
        },
      },
    ]);
    expect(refusal({ note: 'a whole emoji \ud83d\ude00' })).toBeUndefined();
  });
});
