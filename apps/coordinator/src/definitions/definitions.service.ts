import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'crypto';
import { ApiError, AppConfig, decodeCursor, encodeCursor, MESSAGE_BUS, MessageBus, MissingTopics, PageQuery } from '@ordo/platform';
import { jsonProblem, topicNames } from '@ordo/protocol';
import { canonicalDefinition, Problem, validateDefinition } from '../engine';
import { DefinitionDiff, diffDefinitions } from './definition-diff';
import { DefinitionRepository, DefinitionSummary, Registration, StoredDefinition, VersionUsage } from './definition.repository';

/**
 * How long a looked-up latest version is trusted, so that starting a transaction costs no
 * query for it: a version registered through another instance is started here at most this
 * much later; one registered through this instance, at once.
 */
const LATEST_TTL_MS = 1000;

/** Registers definitions (versioned, deduplicated by canonical body) and looks them up. */
@Injectable()
export class DefinitionsService {
  private readonly logger = new Logger(DefinitionsService.name);
  private readonly latest = new Map<string, { stored: Promise<StoredDefinition | undefined>; until: number }>();

  constructor(
    private readonly repository: DefinitionRepository,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly config: AppConfig,
  ) {}

  /**
   * Validates `body` (any JSON, as received) and stores it as the next version of its name,
   * unless it equals the latest version, which is returned instead. Comparing canonical forms
   * makes the key order of the request irrelevant. `actor` (the API key's name) is recorded
   * with a new version.
   */
  async register(body: unknown, actor: string): Promise<Registration> {
    const result = validateDefinition(body);
    if (!result.ok) throw invalidDefinition(result.problems);
    // PostgreSQL's jsonb cannot hold some text JSON allows (U+0000, unpaired surrogates):
    // refuse it here rather than let the insert fail with a 500.
    const unstorable = jsonProblem(result.definition);
    if (unstorable) throw invalidDefinition([{ path: unstorable.path, code: 'invalid_value', message: unstorable.message }]);
    const canonical = canonicalDefinition(result.definition);
    const bodyHash = createHash('sha256').update(canonical).digest('hex');
    // Command topics exist before any command can be written for them: a missing topic
    // would hold its commands in the outbox.
    const topics = topicNames(this.config.KAFKA_TOPIC_PREFIX);
    const participants = new Set(result.definition.steps.map((step) => step.participant));
    await this.bus.ensureTopics({ commands: [...participants].map(topics.commands) }).catch((error: unknown) => {
      if (!(error instanceof MissingTopics)) throw error;
      throw new ApiError(
        HttpStatus.CONFLICT,
        'TOPICS_MISSING',
        error.message,
        error.topics.map((topic) => ({ topic })),
      );
    });
    const registration = await this.repository.register({ definition: result.definition, canonical, bodyHash, registeredBy: actor });
    this.latest.delete(result.definition.name);
    const { name, version } = registration.stored;
    if (registration.created)
      this.logger.log({ definition: name, version, actor, msg: `definition ${name} version ${version} registered by ${actor}` });
    return registration;
  }

  /**
   * The given version of a definition, or its latest one when `version` is omitted;
   * undefined when there is none. What a new transaction pins.
   */
  async findVersion(name: string, version?: number): Promise<StoredDefinition | undefined> {
    if (version !== undefined) return this.repository.find(name, version);
    const cached = this.latest.get(name);
    if (cached && cached.until > Date.now()) return cached.stored;
    // The lookup itself is shared: starts that arrive together make one query.
    const stored = this.repository.find(name);
    const entry = { stored, until: Date.now() + LATEST_TTL_MS };
    this.latest.set(name, entry);
    const found = await stored.catch((error: unknown) => {
      this.latest.delete(name);
      throw error;
    });
    // Nothing to remember of a name that has no definition yet.
    if (!found && this.latest.get(name) === entry) this.latest.delete(name);
    return found;
  }

  /** Like findVersion, for the API: a missing definition is a 404. */
  async get(name: string, version?: number): Promise<StoredDefinition> {
    const stored = await this.findVersion(name, version);
    if (stored) return stored;
    const message = version === undefined ? `no definition named "${name}"` : `definition "${name}" has no version ${version}`;
    throw new ApiError(HttpStatus.NOT_FOUND, 'DEFINITION_NOT_FOUND', message);
  }

  /** Every version of a definition with its running transactions, newest first (404 for an unknown name). */
  async versions(name: string): Promise<VersionUsage[]> {
    const versions = await this.repository.versions(name);
    if (versions.length === 0) throw new ApiError(HttpStatus.NOT_FOUND, 'DEFINITION_NOT_FOUND', `no definition named "${name}"`);
    return versions;
  }

  /** What changed from version `from` to version `to` (either may be the newer). */
  async diff(name: string, from: number, to: number): Promise<DefinitionDiff & { name: string; from: number; to: number }> {
    const [older, newer] = await Promise.all([this.get(name, from), this.get(name, to)]);
    return { name, from, to, ...diffDefinitions(older.definition, newer.definition) };
  }

  /** A page of definitions by name; the cursor is the last name of the previous page. */
  async list(query: PageQuery): Promise<{ items: DefinitionSummary[]; nextCursor: string | null }> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, ([name]) => (typeof name === 'string' ? name : undefined));
    // One extra row tells whether another page follows.
    const rows = await this.repository.list(query.limit + 1, after);
    const items = rows.slice(0, query.limit);
    return { items, nextCursor: rows.length > query.limit ? encodeCursor([items[items.length - 1].name]) : null };
  }
}

function invalidDefinition(problems: readonly Problem[]): ApiError {
  const message = `invalid definition: ${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  return new ApiError(HttpStatus.BAD_REQUEST, 'INVALID_DEFINITION', message, [...problems]);
}
