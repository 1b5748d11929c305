import { Controller, Get, Logger } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorResult, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../http/public.decorator';
import { KafkaHealthIndicator } from './kafka.health';
import { ShutdownState } from './shutdown-state';

const CHECK_TIMEOUT_MS = 2000;

/**
 * How long one check of the dependencies answers every probe: health is open to anyone, so a
 * flood of probes costs one database ping and one broker request per period.
 */
export const HEALTH_CACHE_MS = 1000;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');
  private checked?: { until: number; results: Promise<HealthIndicatorResult[]> };
  /** The last reason logged per dependency: a dependency down for long is logged once. */
  private readonly reasons = new Map<string, string>();

  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly kafka: KafkaHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly shutdown: ShutdownState,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Database and Kafka reachability (checked at most once a second); 503 when either is down' })
  check() {
    return this.health.check(this.dependencies());
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process runs and serves HTTP; checks no dependency' })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: database and Kafka reachable and not shutting down; 503 otherwise' })
  ready() {
    return this.health.check([
      () => {
        const indicator = this.indicators.check('shutdown');
        return this.shutdown.shuttingDown ? indicator.down() : indicator.up();
      },
      ...this.dependencies(),
    ]);
  }

  /** The dependencies' checks, shared by every probe within HEALTH_CACHE_MS. */
  private dependencies() {
    const now = Date.now();
    if (!this.checked || this.checked.until <= now) {
      const results = Promise.all([
        this.database.pingCheck('database', { timeout: CHECK_TIMEOUT_MS }).then((result) => this.bare(result)),
        this.kafka.check('kafka', CHECK_TIMEOUT_MS).then((result) => this.bare(result)),
      ]);
      this.checked = { until: now + HEALTH_CACHE_MS, results };
    }
    const { results } = this.checked;
    return [0, 1].map((i) => async () => (await results)[i]);
  }

  /**
   * A result with its status only: the reason a dependency is down (an error's text, which
   * may name internal hosts) goes to the log, not to whoever probes.
   */
  private bare(result: HealthIndicatorResult): HealthIndicatorResult {
    return Object.fromEntries(
      Object.entries(result).map(([key, { status, message }]) => {
        const reason = status === 'down' ? String(message ?? 'down') : '';
        if (reason && this.reasons.get(key) !== reason) this.logger.warn(`${key} is down: ${reason}`);
        this.reasons.set(key, reason);
        return [key, { status }];
      }),
    );
  }
}
