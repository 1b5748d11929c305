// Two projects: `unit` (pure logic, no I/O) and `e2e` (real PostgreSQL and Kafka,
// started once by the global setup). `npm test` runs both.
const { pathsToModuleNameMapper } = require('./test/support/paths');

const shared = {
  transform: { '^.+\\.ts$': ['@swc/jest', require('./test/support/swc-options')] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: pathsToModuleNameMapper(),
  testEnvironment: 'node',
  // Packed builds of the workspace packages; tests use their sources.
  modulePathIgnorePatterns: ['<rootDir>/libs/[^/]+/dist/'],
};

module.exports = {
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    {
      ...shared,
      displayName: 'unit',
      rootDir: __dirname,
      testMatch: ['<rootDir>/{apps,libs,tools}/**/*.spec.ts'],
    },
    {
      ...shared,
      displayName: 'e2e',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/e2e-setup.ts'],
      slowTestThreshold: 30,
    },
  ],
};
