// Checks that dist/ holds a loadable plugin: the frontend bundle, plugin.json with the backend
// settings Grafana needs to run alerts, and the Linux backend binary. Prints the bundle size.
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
for (const [key, want] of Object.entries({ id: 'flowlens-flows-datasource', backend: true, alerting: true, executable: 'gpx_flows' })) {
  if (plugin[key] !== want) {
    fail(`dist/plugin.json: ${key} is ${JSON.stringify(plugin[key])}, want ${JSON.stringify(want)}`);
  }
}
const moduleBytes = size('dist/module.js');
const binBytes = size(`dist/${plugin.executable}_linux_amd64`);
console.log(`dist/module.js: ${(moduleBytes / 1024).toFixed(1)} KiB`);
console.log(`dist/${plugin.executable}_linux_amd64: ${(binBytes / 1024 / 1024).toFixed(1)} MiB`);
console.log('check-dist: ok');
