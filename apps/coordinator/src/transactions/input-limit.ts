import { HttpStatus } from '@nestjs/common';
import { ApiError } from '@ordo/platform';

/**
 * Refuses a transaction input larger than `maxBytes` as JSON: the input travels in every
 * command of the transaction and is stored with it, so its size is bounded well below the
 * message size limit. Measured on the parsed value, so whitespace in the request is free.
 */
export function checkInputSize(input: object, maxBytes: number): void {
  const bytes = Buffer.byteLength(JSON.stringify(input));
  if (bytes > maxBytes) {
    throw new ApiError(HttpStatus.PAYLOAD_TOO_LARGE, 'INPUT_TOO_LARGE', `input is ${bytes} bytes as JSON, more than the ${maxBytes} allowed`);
  }
}
