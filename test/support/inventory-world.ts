import { Client } from 'pg';
import { addProducts, Product } from '../../tools/chaos/invariants';
import { CoordinatorApi } from './coordinator-api';
import { RunningApp, startApp } from './processes';
import { testEnv } from './test-env';

export interface InventoryWorld {
  api: CoordinatorApi;
  /** The run's database (the participants' schemas, the coordinator's under `schema`). */
  db: Client;
  coordinator: RunningApp;
  inventory: RunningApp;
  stop(): Promise<void>;
}

/**
 * A coordinator on a schema of its own and the real inventory service, on topics of their
 * own (`env`: KAFKA_TOPIC_PREFIX and any other settings for both), with `definition`
 * registered and `products` in stock.
 */
export async function startInventoryWorld(options: {
  env: Record<string, string>;
  schema: string;
  definition: object;
  products: Product[];
}): Promise<InventoryWorld> {
  const db = new Client({ connectionString: testEnv().databaseUrl });
  await db.connect();
  const coordinator = await startApp('coordinator', { ...options.env, DATABASE_SCHEMA: options.schema });
  const inventory = await startApp('inventory', options.env);
  const api = new CoordinatorApi(coordinator.url);
  await api.register(options.definition);
  await addProducts(db, options.products);
  return {
    api,
    db,
    coordinator,
    inventory,
    async stop() {
      await Promise.all([inventory.stop(), coordinator.stop()]);
      await db.end();
    },
  };
}
