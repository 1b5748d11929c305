// Maps the tsconfig path aliases (@ordo/*) for Jest, reading tsconfig.json so the
// aliases are declared in exactly one place.
const path = require('path');
const ts = require('typescript');

function pathsToModuleNameMapper() {
  const root = path.resolve(__dirname, '../..');
  const { config } = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
  const mapper = {};
  for (const [alias, [target]] of Object.entries(config.compilerOptions.paths)) {
    const from = '^' + alias.replace('/*', '/(.*)') + '$';
    mapper[from] = path.join(root, target.replace('/*', '/$1'));
  }
  return mapper;
}

module.exports = { pathsToModuleNameMapper };
