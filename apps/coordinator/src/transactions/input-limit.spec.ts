import { HttpException } from '@nestjs/common';
import { checkInputSize } from './input-limit';

describe('checkInputSize', () => {
  it('accepts an input up to the limit, counted in UTF-8 bytes of its JSON', () => {
    expect(() => checkInputSize({ a: 'x'.repeat(10) }, 18)).not.toThrow(); // {"a":"xxxxxxxxxx"}
    expect(() => checkInputSize({ a: 'é'.repeat(5) }, 18)).not.toThrow(); // 5 × 2 bytes
  });

  it('refuses a larger one with 413 INPUT_TOO_LARGE naming both sizes', () => {
    let error: unknown;
    try {
      checkInputSize({ a: 'x'.repeat(11) }, 18);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HttpException);
    expect((error as HttpException).getStatus()).toBe(413);
    expect((error as HttpException).getResponse()).toEqual({
      error: { code: 'INPUT_TOO_LARGE', message: 'input is 19 bytes as JSON, more than the 18 allowed' },
    });
  });
});
