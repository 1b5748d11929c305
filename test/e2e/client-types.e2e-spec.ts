import { readFileSync } from 'fs';
import { CLIENT_TYPES_FILE, clientTypesOf, servedDocument } from '../../tools/openapi/client-types';
import { startApp, stopAllApps } from '../support/processes';

/**
 * @ordo/client's types are generated from the OpenAPI document the coordinator serves; this
 * keeps the committed ones equal to what a freshly built coordinator serves, so the client
 * cannot drift from the API.
 */
describe('the typed client', () => {
  afterAll(stopAllApps);

  it('has the types generated from the OpenAPI document the coordinator serves', async () => {
    const coordinator = await startApp('coordinator');
    const generated = clientTypesOf(await servedDocument(coordinator.url));
    const committed = readFileSync(CLIENT_TYPES_FILE, 'utf8');
    if (generated !== committed) {
      throw new Error(`${CLIENT_TYPES_FILE} differs from the coordinator's OpenAPI document: run \`npm start\`, then \`npm run client:types\``);
    }
    expect(generated).toContain('"/api/v1/transactions/{id}"');
  });
});
