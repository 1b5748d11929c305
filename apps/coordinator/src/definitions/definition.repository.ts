import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TxType } from '@ordo/protocol';
import { canonicalDefinition, WorkflowDefinition } from '../engine';

/** One registered version of a definition; versions are immutable once stored. */
export interface StoredDefinition {
  readonly name: string;
  readonly version: number;
  readonly type: TxType;
  readonly createdAt: Date;
  /** Name of the API key that registered it; null for versions registered before actors were recorded. */
  readonly registeredBy: string | null;
  /** The canonical body (see engine/definition/canonical-definition.ts). */
  readonly definition: WorkflowDefinition;
}

/** A definition name with its latest version. */
export interface DefinitionSummary {
  readonly name: string;
  readonly latestVersion: number;
  readonly type: TxType;
  /** When the latest version was registered, and by which API key. */
  readonly createdAt: Date;
  readonly registeredBy: string | null;
  readonly versions: number;
}

/** A validated definition ready to be stored. */
/** A version of a definition and how many transactions run it now. */
export interface VersionUsage {
  readonly version: number;
  readonly createdAt: Date;
  readonly registeredBy: string | null;
  /** Running or compensating. */
  readonly running: number;
}

export interface DefinitionCandidate {
  readonly definition: WorkflowDefinition;
  /** Its canonical JSON text, stored as the body. */
  readonly canonical: string;
  /** sha256 of `canonical`: equal hashes mean equal bodies, whatever their key order. */
  readonly bodyHash: string;
  /** The API key registering it. */
  readonly registeredBy: string;
}

export interface Registration {
  /** False when the candidate equals the latest version, which is returned instead. */
  readonly created: boolean;
  readonly stored: StoredDefinition;
}

interface DefinitionRow {
  name: string;
  version: number;
  type: TxType;
  body: WorkflowDefinition;
  created_at: Date;
  registered_by: string | null;
}

const COLUMNS = 'name, version, type, body, created_at, registered_by';

/**
 * Two-key advisory locks live in their own key space (apart from single-bigint ones such as
 * the migration lock); this first key marks "a definition name" in it.
 */
const NAME_LOCK_CLASS = 'ordo.definitions';

/** The definitions table; every definition query of the coordinator is here. */
@Injectable()
export class DefinitionRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Stores the candidate as the name's next version, unless its body equals the latest
   * version's. Registrations of one name are serialised by a transaction-scoped advisory lock
   * taken before reading the latest version, so concurrent ones get consecutive versions
   * instead of racing for the same one (and failing on the primary key).
   */
  register(candidate: DefinitionCandidate): Promise<Registration> {
    const { name, type } = candidate.definition;
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [NAME_LOCK_CLASS, name]);
      const [latest]: (DefinitionRow & { body_hash: string })[] = await manager.query(
        `SELECT ${COLUMNS}, body_hash FROM definitions WHERE name = $1 ORDER BY version DESC LIMIT 1`,
        [name],
      );
      if (latest?.body_hash === candidate.bodyHash) return { created: false, stored: toStored(latest) };
      const [inserted]: DefinitionRow[] = await manager.query(
        `INSERT INTO definitions (name, version, type, body, body_hash, registered_by)
         VALUES ($1, $2, $3, $4::jsonb, $5, $6)
         RETURNING ${COLUMNS}`,
        [name, (latest?.version ?? 0) + 1, type, candidate.canonical, candidate.bodyHash, candidate.registeredBy],
      );
      return { created: true, stored: toStored(inserted) };
    });
  }

  /** The given version of a definition, or its latest one when `version` is omitted. */
  async find(name: string, version?: number): Promise<StoredDefinition | undefined> {
    const [row]: DefinitionRow[] =
      version === undefined
        ? await this.dataSource.query(`SELECT ${COLUMNS} FROM definitions WHERE name = $1 ORDER BY version DESC LIMIT 1`, [name])
        : await this.dataSource.query(`SELECT ${COLUMNS} FROM definitions WHERE name = $1 AND version = $2`, [name, version]);
    return row && toStored(row);
  }

  /**
   * Up to `limit` definition names after `after`, each with its latest version, by name
   * (byte order, whatever the database collation).
   */
  list(limit: number, after?: string): Promise<DefinitionSummary[]> {
    return this.dataSource.query(
      `SELECT d.name, d.version AS "latestVersion", d.type, d.created_at AS "createdAt", d.registered_by AS "registeredBy", latest.versions
       FROM (SELECT name, max(version) AS version, count(*)::int AS versions FROM definitions
             WHERE $1::text IS NULL OR name COLLATE "C" > $1 GROUP BY name ORDER BY name COLLATE "C" LIMIT $2) latest
       JOIN definitions d USING (name, version)
       ORDER BY d.name COLLATE "C"`,
      [after ?? null, limit],
    );
  }

  /**
   * Every version of `name`, newest first, with its running transactions: counted among the
   * live rows only (partial index transactions_live), so the cost does not grow with history.
   */
  versions(name: string): Promise<VersionUsage[]> {
    return this.dataSource.query(
      `SELECT d.version, d.created_at AS "createdAt", d.registered_by AS "registeredBy", coalesce(live.n, 0)::int AS running
       FROM definitions d
       LEFT JOIN (SELECT definition_version, count(*) AS n FROM transactions
                  WHERE status IN ('running', 'compensating') AND definition_name = $1 GROUP BY definition_version) live
         ON live.definition_version = d.version
       WHERE d.name = $1
       ORDER BY d.version DESC`,
      [name],
    );
  }
}

function toStored(row: DefinitionRow): StoredDefinition {
  // jsonb keeps keys in an order of its own: restore the canonical one, so every response
  // shows the body exactly as hashed (sha256 of its JSON text is body_hash).
  const definition = JSON.parse(canonicalDefinition(row.body)) as WorkflowDefinition;
  return { name: row.name, version: row.version, type: row.type, createdAt: row.created_at, registeredBy: row.registered_by, definition };
}
