import { writeFileSync } from 'fs';
import { CLIENT_TYPES_FILE, clientTypesOf, servedDocument } from './client-types';

/**
 * `npm run client:types`: regenerates @ordo/client's types from the OpenAPI document of a
 * running coordinator (ORDO_URL, default http://localhost:3000, e.g. after `npm start`).
 * The e2e suite fails while the committed types differ from what the coordinator serves.
 */
async function main() {
  const url = process.env.ORDO_URL ?? 'http://localhost:3000';
  writeFileSync(CLIENT_TYPES_FILE, clientTypesOf(await servedDocument(url)));
  console.log(`wrote ${CLIENT_TYPES_FILE} from ${url}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
