// Decorator metadata (the settings' types) is recorded only once reflect-metadata is loaded.
import 'reflect-metadata';
import { IsIn, IsInt, IsOptional, IsString, Max, Min, Validate } from 'class-validator';
import { DatabaseConfig } from './database-config';
import { WithKafkaSettings } from './kafka-config';
import { FAULT_INJECTION_MODES, FaultInjectionMode, NotInProduction } from './fault-injection';

/** Settings every Ordo process reads from its environment. */
export class AppConfig extends WithKafkaSettings(DatabaseConfig) {
  /** HTTP port of the process's REST API and health endpoint (0: any free port). */
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number = 3000;

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: string = 'log';

  /** `json`: one object a line, for log collectors; `pretty`: short lines for a terminal (npm start). */
  @IsIn(['json', 'pretty'])
  LOG_FORMAT: string = 'json';

  /**
   * How many proxies (load balancers, ingresses) stand in front of the process and append
   * the client's address to X-Forwarded-For: the address that many hops back is the client's
   * (failed logins are limited per client address). 0: none, the peer's address is the
   * client's; with proxies in front and 0, every client shares the proxy's address.
   */
  @IsInt()
  @Min(0)
  @Max(10)
  TRUST_PROXY: number = 0;

  /** Largest JSON request body accepted; a larger one is refused with 413 before it is read whole. */
  @IsInt()
  @Min(1024)
  @Max(64 * 1024 * 1024)
  MAX_BODY_BYTES: number = 1024 * 1024;

  /**
   * Largest Kafka message value this process consumes; a larger one is dead-lettered
   * unread. Below the broker's own limit (1 MB by default), so its dead letter fits too.
   */
  @IsInt()
  @Min(1024)
  @Max(64 * 1024 * 1024)
  MAX_MESSAGE_BYTES: number = 512 * 1024;

  /**
   * On SIGTERM, how long readiness answers 503 before the HTTP server stops accepting
   * connections, so a load balancer stops sending requests first.
   */
  @IsInt()
  @Min(0)
  @Max(120_000)
  SHUTDOWN_DELAY_MS: number = 0;

  /** `production` refuses what is for tests only (FAULT_INJECTION=on). */
  @IsOptional()
  @IsString()
  NODE_ENV?: string;

  /**
   * `on`: failure injection works (participants: `_fault` in a command's input and the
   * FAULT_* settings; coordinator: FAULT_CRASH), for tests and demos. Off, `_fault` is
   * ordinary input data and the FAULT_* settings are refused.
   */
  @IsIn(FAULT_INJECTION_MODES)
  @Validate(NotInProduction)
  FAULT_INJECTION: FaultInjectionMode = 'off';
}
