import { HttpException } from '@nestjs/common';
import { decodeCursor, encodeCursor } from './cursors';

const firstString = ([value]: unknown[]) => (typeof value === 'string' ? value : undefined);

describe('page cursors', () => {
  it('give back the position they were made of', () => {
    const cursor = encodeCursor(['2026-11-21T10:00:00.000Z', 'a1']);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, (position) => position)).toEqual(['2026-11-21T10:00:00.000Z', 'a1']);
    expect(decodeCursor(encodeCursor(['42']), firstString)).toBe('42');
  });

  it.each([
    ['not base64 JSON', '%%%'],
    ['JSON that is not a list', Buffer.from('{"id":1}').toString('base64url')],
    ['a position the reader refuses', encodeCursor([42])],
  ])('refuses %s with 400 INVALID_CURSOR', (_name, cursor) => {
    let error: unknown;
    try {
      decodeCursor(cursor, firstString);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HttpException);
    expect((error as HttpException).getStatus()).toBe(400);
    expect((error as HttpException).getResponse()).toEqual({ error: { code: 'INVALID_CURSOR', message: 'cursor is not one this API returned' } });
  });
});
