import { InfraError } from './proc';
import { startInfra, stopInfra } from './infra';

/** `npm run infra -- start|stop`: the local PostgreSQL and Kafka on their own. */
async function main(command: string | undefined) {
  const log = (line: string) => console.log(`[infra] ${line}`);
  switch (command) {
    case 'start': {
      const infra = await startInfra(log);
      console.log(`DATABASE_URL=${infra.databaseUrl}\nKAFKA_BROKERS=${infra.kafkaBrokers}`);
      return;
    }
    case 'stop':
      const users = await stopInfra({ postgres: !process.env.DATABASE_URL, kafka: !process.env.KAFKA_BROKERS });
      log(users.length > 0 ? `still in use by pid ${users.join(', ')}; left running` : 'stopped');
      return;
    default:
      console.error('usage: npm run infra -- start|stop');
      process.exitCode = 2;
  }
}

main(process.argv[2]).catch((error) => {
  console.error(error instanceof InfraError ? `[infra] ${error.message}` : error);
  process.exitCode = 1;
});
