/**
 * Import rules of docs/architecture.md, checked in `npm test` (test/architecture.test.ts) and by
 * `npm run check:imports`. A violation names the importing file, the imported one and the rule.
 */
const MODULES = '^(subgraphs|gateway|registry|jobs|contracts|scripts|bench|test|tools)/';
const PRODUCTION = '^(lib|contracts|subgraphs|gateway|registry|jobs)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cross-subgraph',
      comment: 'A subgraph owns its data and code; others reach it through federation, its API (contracts/) or its events.',
      severity: 'error',
      from: { path: '^subgraphs/([^/]+)/' },
      to: { path: '^subgraphs/[^/]+/', pathNot: '^subgraphs/$1/' },
    },
    {
      name: 'lib-is-platform',
      comment: 'lib/ is platform code (config, db, redis, logger, errors, metrics, tracing, server bootstrap): it imports no module.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: MODULES },
    },
    {
      name: 'domain-is-pure',
      comment: 'Domain rules import nothing from data/, the database layer or TypeORM.',
      severity: 'error',
      from: { path: '^(subgraphs/[^/]+|registry)/domain/' },
      to: { path: ['^(subgraphs/[^/]+|registry)/data/', '^lib/db\\.ts$', 'node_modules/typeorm/'] },
    },
    {
      name: 'gateway-imports-no-internals',
      comment: 'The gateway plans over subgraphs and reads the registry through interfaces; it imports neither.',
      severity: 'error',
      from: { path: '^gateway/' },
      to: { path: ['^subgraphs/', '^jobs/', '^registry/(?!index\\.ts$)'] },
    },
    {
      name: 'registry-starts-no-gateway',
      comment: 'The registry is a module of its own: the gateway hosts it through registry/index.ts, never the other way round.',
      severity: 'error',
      from: { path: '^registry/' },
      to: { path: '^(gateway|subgraphs|jobs)/' },
    },
    {
      name: 'subgraphs-import-no-process',
      comment: 'Subgraphs are wired into processes by jobs/, scripts/ and the gateway, never the other way.',
      severity: 'error',
      from: { path: '^subgraphs/' },
      to: { path: '^(gateway|jobs|registry)/' },
    },
    {
      name: 'nothing-imports-tooling',
      comment: 'scripts/, bench/, test/ and tools/ sit on top: production code imports none of them.',
      severity: 'error',
      from: { path: PRODUCTION, pathNot: '\\.test\\.ts$' },
      to: { path: '^(scripts|bench|test|tools)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a domain module that imports an entity's type still depends on the data layer.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|\\.git|logs|\\.omnistock|test-results|registry/console/dist)/' },
  },
};
