/**
 * Third-party fixtures live in ../shared/fixtures (never copied into the repo).
 * On a user's machine they are absent: tests skip with a clear message, unless
 * STREAMLLM_REQUIRE_FIXTURES=1 (set by .ci/run), in which case they fail.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES_DIR = process.env['STREAMLLM_FIXTURES'] ?? join(ROOT, '..', 'shared', 'fixtures');
export const REQUIRE_FIXTURES = process.env['STREAMLLM_REQUIRE_FIXTURES'] === '1';
export const PROJECT_ROOT = ROOT;

export function fixturePath(rel: string): string {
  return join(FIXTURES_DIR, rel);
}

/**
 * Returns the absolute path of a fixture, or undefined after marking the test
 * skipped. Throws instead of skipping when fixtures are required.
 */
export function needFixture(t: TestContext, rel: string): string | undefined {
  const p = fixturePath(rel);
  if (existsSync(p)) return p;
  const msg = `fixture ${rel} not found under ${FIXTURES_DIR} (set STREAMLLM_FIXTURES to its folder)`;
  if (REQUIRE_FIXTURES) throw new Error(`${msg}; STREAMLLM_REQUIRE_FIXTURES=1 forbids skipping`);
  t.skip(msg);
  return undefined;
}
