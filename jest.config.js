/** Jest runs in native ESM mode: Nest 12 packages are ESM-only. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  roots: ['<rootDir>/libs', '<rootDir>/test', '<rootDir>/src'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  // Fixture apps are users' projects, installed and compiled by test/packages.e2e-spec.ts: never tests or modules here.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/fixtures/'],
  modulePathIgnorePatterns: ['<rootDir>/test/fixtures/'],
  moduleNameMapper: {
    // Tests run the packages from their sources; apps outside this repository use the built tarballs (test/fixtures).
    '^@nest-sse/protocol$': '<rootDir>/libs/protocol/src/index.ts',
    '^@nest-sse/server$': '<rootDir>/libs/sse/src/index.ts',
    '^@nest-sse/server/bridge$': '<rootDir>/libs/sse/src/bridge/index.ts',
    '^@nest-sse/server/redis$': '<rootDir>/libs/sse/src/redis/index.ts',
    '^@nest-sse/server/health$': '<rootDir>/libs/sse/src/health/index.ts',
    '^@nest-sse/server/metrics$': '<rootDir>/libs/sse/src/metrics/index.ts',
    '^@nest-sse/client$': '<rootDir>/libs/sse-client/src/index.ts',
    '^@nest-sse/client/react$': '<rootDir>/libs/sse-client/src/react/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', isolatedModules: true }],
  },
  testTimeout: 30000,
};
