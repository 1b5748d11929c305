import { ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import { FastifyRequest } from 'fastify';
import { ApiError, IS_PUBLIC } from '@ordo/platform';
import { credentialOf } from '../auth/api-key.guard';
import { digest } from '../config/api-keys';

/**
 * Who a request counts against: its credential (by digest, never the secret itself), else
 * its client address. One budget per tracker across all routes.
 */
export function trackerOf(request: Pick<FastifyRequest, 'headers' | 'ip'>): string {
  const credential = credentialOf(request);
  return credential === undefined ? `ip:${request.ip ?? 'unknown'}` : `key:${digest(credential)}`;
}

/**
 * @nestjs/throttler per credential, answering 429 RATE_LIMITED in the one error shape (the
 * guard has set Retry-After by then). Routes marked @Public() (health) are never limited.
 */
@Injectable()
export class CredentialThrottlerGuard extends ThrottlerGuard {
  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]) ?? false);
  }

  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    return Promise.resolve(trackerOf(request as unknown as FastifyRequest));
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttler: string): string {
    return `${throttler}:${tracker}`;
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const message = `more than ${detail.limit} requests in ${detail.ttl / 1000} s; retry in ${detail.timeToBlockExpire} s`;
    return Promise.reject(new ApiError(HttpStatus.TOO_MANY_REQUESTS, 'RATE_LIMITED', message));
  }
}
