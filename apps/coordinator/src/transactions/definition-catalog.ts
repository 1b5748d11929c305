import { Injectable } from '@nestjs/common';
import { resolveDefinition, ResolvedDefinition } from '../engine';
import { DefinitionsService } from '../definitions/definitions.service';

export interface PinnedDefinition {
  name: string;
  version: number;
  resolved: ResolvedDefinition;
}

const CACHE_LIMIT = 1000;

/**
 * Definition versions as the engine runs them. A version never changes once registered,
 * so resolved versions are cached for the life of the process (bounded, oldest evicted).
 */
@Injectable()
export class DefinitionCatalog {
  private readonly cache = new Map<string, PinnedDefinition>();

  constructor(private readonly definitions: DefinitionsService) {}

  /** The version a transaction is pinned to, or the latest when none is given (404 when missing). */
  async get(name: string, version?: number): Promise<PinnedDefinition> {
    const cached = version === undefined ? undefined : this.cache.get(`${name}@${version}`);
    if (cached) return cached;
    const stored = await this.definitions.get(name, version);
    // The latest version's lookup is cached briefly by DefinitionsService; it is resolved once.
    const known = this.cache.get(`${name}@${stored.version}`);
    if (known) return known;
    const pinned = { name: stored.name, version: stored.version, resolved: resolveDefinition(stored.definition) };
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(`${name}@${stored.version}`, pinned);
    return pinned;
  }

  /** The version if it is cached (it is, once a decision of it has been taken here). */
  peek(name: string, version: number): PinnedDefinition | undefined {
    return this.cache.get(`${name}@${version}`);
  }
}
