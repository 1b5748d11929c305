import { Injectable } from '@nestjs/common';
import { ParticipantConfig } from './participant.config';

export interface CoordinatorAnswer {
  status: number;
  /** The parsed JSON body; null when there is none or it is not JSON. */
  body: unknown;
}

/**
 * Requests to the coordinator's REST API at ORDO_COORDINATOR_URL, with its API key. Throws
 * only when no answer came (refused, timed out); every HTTP status is the caller's to judge.
 */
@Injectable()
export class CoordinatorHttp {
  constructor(private readonly config: ParticipantConfig) {}

  get configured(): boolean {
    return this.config.ORDO_COORDINATOR_URL !== undefined;
  }

  async request(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    options: { body?: unknown; timeoutMs: number; headers?: Record<string, string> },
  ): Promise<CoordinatorAnswer> {
    if (!this.config.ORDO_COORDINATOR_URL) throw new Error('ORDO_COORDINATOR_URL is not set');
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (this.config.ORDO_COORDINATOR_API_KEY) headers.authorization = `Bearer ${this.config.ORDO_COORDINATOR_API_KEY}`;
    const response = await fetch(`${this.config.ORDO_COORDINATOR_URL.replace(/\/+$/, '')}/api/v1${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    return { status: response.status, body: await response.json().catch(() => null) };
  }
}
