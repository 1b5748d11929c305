// e2e tests wait on real processes and a real broker; the per-project timeout lives here
// because Jest reads testTimeout only from the top-level config.
jest.setTimeout(120_000);