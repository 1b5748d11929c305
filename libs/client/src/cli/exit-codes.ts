import { TransactionStatus } from '../ordo-client';

/** What `ordo` exits with, so scripts can branch on the outcome. */
export const EXIT = {
  ok: 0,
  /** The API refused the request or could not be reached. */
  apiError: 1,
  /** Bad flags, arguments or input file. */
  usage: 2,
  /** A waited transaction ended compensated (rolled back cleanly). */
  compensated: 3,
  /** A waited transaction ended failed (needs an operator). */
  failed: 4,
  /** The wait ran out with the transaction still running. */
  stillRunning: 5,
} as const;

/** The exit code for a transaction the command waited for. */
export function exitCodeFor(status: TransactionStatus): number {
  switch (status) {
    case 'completed':
      return EXIT.ok;
    case 'compensated':
      return EXIT.compensated;
    case 'failed':
      return EXIT.failed;
    default:
      return EXIT.stillRunning;
  }
}
