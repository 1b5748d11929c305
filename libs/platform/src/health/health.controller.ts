import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../http/public.decorator';
import { KafkaHealthIndicator } from './kafka.health';
import { ShutdownState } from './shutdown-state';

const CHECK_TIMEOUT_MS = 2000;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly kafka: KafkaHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly shutdown: ShutdownState,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Database and Kafka reachability; 503 when either is down' })
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
        return this.shutdown.shuttingDown ? indicator.down({ message: 'shutting down' }) : indicator.up();
      },
      ...this.dependencies(),
    ]);
  }

  private dependencies() {
    return [
      () => this.database.pingCheck('database', { timeout: CHECK_TIMEOUT_MS }),
      () => this.kafka.check('kafka', CHECK_TIMEOUT_MS),
    ];
  }
}
