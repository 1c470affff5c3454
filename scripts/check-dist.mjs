// Checks that dist/ holds a loadable plugin: the frontend bundle, plugin.json with the backend
// settings Grafana needs to run alerts, the Linux backend binary and the query model's schema. Prints the bundle size.
import { readFileSync, statSync } from 'node:fs';

const fail = (msg) => {
  console.error(`check-dist: ${msg}`);
  process.exit(1);
};
const size = (path) => {
  try {
    return statSync(path).size;
  } catch {
    return fail(`${path} is missing`);
  }
};

const plugin = JSON.parse(readFileSync('dist/plugin.json', 'utf8'));
for (const [key, want] of Object.entries({
  id: 'flowlens-flows-datasource',
  backend: true,
  alerting: true,
  executable: 'gpx_flows',
})) {
  if (plugin[key] !== want) {
    fail(`dist/plugin.json: ${key} is ${JSON.stringify(plugin[key])}, want ${JSON.stringify(want)}`);
  }
}
// The query model's JSON schema (docs/query-model.md), one definition per query type.
const queryTypes = JSON.parse(readFileSync('dist/schema/v0alpha1/query.types.json', 'utf8'));
const schemaTypes = (queryTypes.items ?? []).map((item) => item.metadata?.name).sort();
const wantTypes = ['flows', 'protocols', 'topTalkers', 'variableValues'];
if (JSON.stringify(schemaTypes) !== JSON.stringify(wantTypes)) {
  fail(
    `dist/schema/v0alpha1/query.types.json defines ${JSON.stringify(schemaTypes)}, want ${JSON.stringify(wantTypes)}`
  );
}
const moduleBytes = size('dist/module.js');
const binBytes = size(`dist/${plugin.executable}_linux_amd64`);
console.log(`dist/module.js: ${(moduleBytes / 1024).toFixed(1)} KiB`);
console.log(`dist/${plugin.executable}_linux_amd64: ${(binBytes / 1024 / 1024).toFixed(1)} MiB`);
console.log('check-dist: ok');
