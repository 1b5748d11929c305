import { stopAllApps } from './processes';

// e2e tests wait on real processes and a real broker. The timeout is set here because
// Jest reads testTimeout only from the top-level config, not per project.
jest.setTimeout(120_000);

// No app process outlives its test file, even when a test or a start failed.
afterAll(() => stopAllApps());
