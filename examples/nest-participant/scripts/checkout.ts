import { OrdoClient, OrdoApiError } from '@ordo/client';

/**
 * Starts a ship-order saga for a parcel and waits for its end, the way a checkout backend
 * would: `ORDO_URL=… ORDO_API_KEY=… npm run checkout -- <parcel>`. Prints the outcome as
 * JSON; exits 0 when the saga completed, 1 otherwise.
 */
async function main(parcel: string) {
  const ordo = new OrdoClient({ url: process.env.ORDO_URL ?? 'http://localhost:3000', apiKey: process.env.ORDO_API_KEY });
  const { transaction } = await ordo.startTransaction(
    { definition: 'ship-order', input: { parcel }, idempotencyKey: `checkout-${parcel}` },
    { waitMs: 30_000 },
  );
  const steps = Object.fromEntries(transaction.steps.map((step) => [step.id, step.status]));
  console.log(JSON.stringify({ id: transaction.id, status: transaction.status, steps }));
  process.exitCode = transaction.status === 'completed' ? 0 : 1;
}

main(process.argv[2] ?? 'parcel-1').catch((error: unknown) => {
  console.error(error instanceof OrdoApiError ? `${error.code}: ${error.message}` : error);
  process.exitCode = 1;
});
