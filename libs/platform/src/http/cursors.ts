import { HttpStatus } from '@nestjs/common';
import { ApiError } from './http-error.filter';

/**
 * Keyset page cursors: the position of a page's last item in the list's order, as opaque
 * text a client only passes back (`nextCursor` → `cursor`).
 */
export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** The position a cursor holds, as `read` makes it; `read` answers undefined for one it does not accept. */
export function decodeCursor<T>(cursor: string, read: (position: unknown[]) => T | undefined): T {
  let position: T | undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    position = Array.isArray(parsed) ? read(parsed) : undefined;
  } catch {
    position = undefined;
  }
  if (position === undefined) throw new ApiError(HttpStatus.BAD_REQUEST, 'INVALID_CURSOR', 'cursor is not one this API returned');
  return position;
}
