import { CanActivate, ExecutionContext, HttpStatus, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request } from 'express';
import { ApiError, IS_PUBLIC } from '@ordo/platform';
import { CoordinatorConfig } from '../config/coordinator.config';
import { allows, digest, parseApiKeys, Principal, Role } from './api-keys';
import { FailedLogins } from './failed-logins';
import { PRINCIPAL } from './principal.decorator';
import { REQUIRED_ROLE } from './roles.decorator';

/** The credential a request carries: `Authorization: Bearer <secret>`, else `X-Api-Key`. */
export function credentialOf(request: Pick<Request, 'headers'>): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && /^bearer /i.test(authorization)) return authorization.slice(7).trim() || undefined;
  const key = request.headers['x-api-key'];
  return typeof key === 'string' && key ? key : undefined;
}

/**
 * Every route needs a configured API key with a role that allows it, except those marked
 * @Public() (health). Failures are logged (client address, never the credential) and, past
 * AUTH_FAILURES_PER_MINUTE from one address, refused with 429 before any key is checked.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly logger = new Logger('Auth');
  private readonly keys: Map<string, Principal>;
  private readonly failures: FailedLogins;

  constructor(
    private readonly reflector: Reflector,
    config: CoordinatorConfig,
  ) {
    this.keys = parseApiKeys(config.ORDO_API_KEYS);
    this.failures = new FailedLogins(config.AUTH_FAILURES_PER_MINUTE, 60_000);
  }

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<Request & { [PRINCIPAL]?: Principal }>();
    const client = request.ip ?? request.socket.remoteAddress ?? 'unknown';
    const now = Date.now();
    const wait = this.failures.blockedFor(client, now);
    if (wait > 0) {
      throw new ApiError(HttpStatus.TOO_MANY_REQUESTS, 'TOO_MANY_FAILED_LOGINS', `too many failed authentications; retry in ${Math.ceil(wait / 1000)} s`);
    }
    const credential = credentialOf(request);
    const principal = credential === undefined ? undefined : this.keys.get(digest(credential));
    if (!principal) {
      const count = this.failures.record(client, now);
      this.logger.warn(`refused ${request.method} ${request.path} from ${client}: ${credential === undefined ? 'no credential' : 'unknown API key'} (${count} in the last minute)`);
      throw new ApiError(HttpStatus.UNAUTHORIZED, 'UNAUTHENTICATED', 'an API key is required: send Authorization: Bearer <key>');
    }
    const needed =
      this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, targets) ?? (['GET', 'HEAD'].includes(request.method) ? 'viewer' : 'admin');
    if (!allows(principal.role, needed)) {
      this.logger.warn(`refused ${request.method} ${request.path} to ${principal.name}: role ${principal.role}, ${needed} needed`);
      throw new ApiError(HttpStatus.FORBIDDEN, 'FORBIDDEN', `this needs the ${needed} role; ${principal.name} is ${principal.role}`);
    }
    request[PRINCIPAL] = principal;
    return true;
  }
}
