import { CanActivate, ExecutionContext, HttpStatus, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyRequest } from 'fastify';
import { ApiError, IS_PUBLIC, pathOf, REQUIRED_SCOPE } from '@ordo/platform';
import { CoordinatorConfig } from '../config/coordinator.config';
import { digest, parseApiKeys, Principal, Role } from '../config/api-keys';
import { allows } from './roles';
import { LoginLimiter } from './failed-logins';
import { PRINCIPAL } from './principal.decorator';

/** The credential a request carries: `Authorization: Bearer <secret>`, else `X-Api-Key`. */
export function credentialOf(request: Pick<FastifyRequest, 'headers'>): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && /^bearer /i.test(authorization)) return authorization.slice(7).trim() || undefined;
  const key = request.headers['x-api-key'];
  return typeof key === 'string' && key ? key : undefined;
}

/**
 * Every route needs a configured, unexpired API key with a role that allows it, except
 * those marked @Public() (health). Failures are logged (client address, never the
 * credential) and limited per client address and credential (see LoginLimiter).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly logger = new Logger('Auth');
  private readonly keys: Map<string, Principal>;
  private readonly limiter: LoginLimiter;
  /** Expired keys already logged: a client retrying one in a loop fills no log. */
  private readonly expiredLogged = new Set<string>();

  constructor(
    private readonly reflector: Reflector,
    config: CoordinatorConfig,
  ) {
    this.keys = parseApiKeys(config.ORDO_API_KEYS);
    this.limiter = new LoginLimiter(config.AUTH_FAILURES_PER_MINUTE, 60_000);
  }

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { [PRINCIPAL]?: Principal }>();
    // The client's address as the trusted proxies (TRUST_PROXY) report it.
    const client = request.ip ?? request.socket.remoteAddress ?? 'unknown';
    const credential = credentialOf(request);
    const presented = credential === undefined ? '' : digest(credential);
    const now = Date.now();
    const wait = this.limiter.blockedFor(client, presented, now);
    if (wait > 0) {
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        'TOO_MANY_FAILED_LOGINS',
        `too many failed authentications; retry in ${Math.ceil(wait / 1000)} s`,
      );
    }
    const principal = this.keys.get(presented);
    if (!principal) {
      const count = this.limiter.failed(client, presented, now);
      this.logger.warn(
        `refused ${request.method} ${pathOf(request)} from ${client}: ${credential === undefined ? 'no credential' : 'unknown API key'} (${count} in the last minute)`,
      );
      throw new ApiError(HttpStatus.UNAUTHORIZED, 'UNAUTHENTICATED', 'an API key is required: send Authorization: Bearer <key>');
    }
    if (principal.expiresAt !== undefined && principal.expiresAt <= now) {
      const expired = new Date(principal.expiresAt).toISOString();
      if (!this.expiredLogged.has(principal.name)) {
        this.expiredLogged.add(principal.name);
        this.logger.warn(`refused the API key ${principal.name} from ${client}: it expired at ${expired} (logged once per key)`);
      }
      throw new ApiError(HttpStatus.UNAUTHORIZED, 'KEY_EXPIRED', `the API key ${principal.name} expired at ${expired}; ask for a new one`);
    }
    this.limiter.succeededWith(client, presented);
    const read = ['GET', 'HEAD'].includes(request.method);
    const needed = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_SCOPE, targets) ?? (read ? 'viewer' : 'admin');
    if (!allows(principal.role, needed, !read)) {
      this.logger.warn(`refused ${request.method} ${pathOf(request)} to ${principal.name}: role ${principal.role}, ${needed} needed`);
      throw new ApiError(HttpStatus.FORBIDDEN, 'FORBIDDEN', `this needs the ${needed} role; ${principal.name} is ${principal.role}`);
    }
    request[PRINCIPAL] = principal;
    return true;
  }
}
