import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { REPO_ROOT } from '../infra/paths';

/** Where @ordo/client keeps the types generated from the coordinator's OpenAPI document. */
export const CLIENT_TYPES_FILE = join(REPO_ROOT, 'libs/client/src/generated/openapi.ts');

/** The path the coordinator serves its OpenAPI document on. */
export const OPENAPI_PATH = '/api/docs/openapi.json';

/** The TypeScript types openapi-typescript generates from an OpenAPI document. */
export function clientTypesOf(document: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'ordo-openapi-'));
  try {
    const input = join(dir, 'openapi.json');
    const output = join(dir, 'openapi.ts');
    writeFileSync(input, JSON.stringify(document));
    execFileSync('npx', ['--no-install', 'openapi-typescript', input, '--default-non-nullable=false', '--output', output], { stdio: 'pipe' });
    return readFileSync(output, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fetches the OpenAPI document a running coordinator serves. */
export async function servedDocument(baseUrl: string): Promise<unknown> {
  const response = await fetch(`${baseUrl}${OPENAPI_PATH}`);
  if (!response.ok) throw new Error(`GET ${OPENAPI_PATH} answered ${response.status}`);
  return response.json();
}
