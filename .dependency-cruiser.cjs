// `npm run check:cycles` (part of `npm test`): the coordinator's folders must depend on
// each other without a cycle, so each can be read, and changed, knowing only what is below it.
// Specs are left out: a test may reach into any folder it tests.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment: 'Move what both folders need to the folder it belongs to (or below both); do not add an exception.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: they tie the folders together as much as any other.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '\\.spec\\.ts$'] },
  },
};
