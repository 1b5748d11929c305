import { TEST_API_KEYS } from './auth';
import { stopAllApps } from './processes';

// e2e tests wait on real processes and a real broker. The timeout is set here because
// Jest reads testTimeout only from the top-level config, not per project.
jest.setTimeout(120_000);

// No app process outlives its test file, even when a test or a start failed.
afterAll(() => stopAllApps());

// A coordinator served in-process reads its settings from this process's environment.
process.env.ORDO_API_KEYS ??= TEST_API_KEYS;
