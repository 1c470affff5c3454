// Checks that dist/ holds a loadable plugin: the frontend bundle, plugin.json with the backend
// settings Grafana needs to run alerts, a backend executable for every platform Grafana runs
// plugins on (each checked to be an executable for that OS and CPU), the build manifest and the
// query model's schema. Prints the sizes.
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
// What each platform's executable starts with: ELF e_machine, Mach-O cputype, PE machine.
const PLATFORMS = {
  linux_amd64: { format: 'ELF', machine: 0x3e },
  linux_arm64: { format: 'ELF', machine: 0xb7 },
  linux_arm: { format: 'ELF', machine: 0x28 },
  darwin_amd64: { format: 'Mach-O', machine: 0x01000007 },
  darwin_arm64: { format: 'Mach-O', machine: 0x0100000c },
  windows_amd64: { format: 'PE', machine: 0x8664, suffix: '.exe' },
};
/** The format and machine of an executable, from its header. */
function executableKind(buf) {
  if (buf.readUInt32BE(0) === 0x7f454c46) {
    return { format: 'ELF', machine: buf.readUInt16LE(18) };
  }
  if (buf.readUInt32LE(0) === 0xfeedfacf) {
    return { format: 'Mach-O', machine: buf.readUInt32LE(4) };
  }
  if (buf.toString('latin1', 0, 2) === 'MZ') {
    const pe = buf.readUInt32LE(0x3c);
    if (buf.toString('latin1', pe, pe + 4) === 'PE\0\0') {
      return { format: 'PE', machine: buf.readUInt16LE(pe + 4) };
    }
  }
  return { format: 'unknown', machine: 0 };
}
for (const [platform, want] of Object.entries(PLATFORMS)) {
  const path = `dist/${plugin.executable}_${platform}${want.suffix ?? ''}`;
  const bytes = size(path);
  const got = executableKind(readFileSync(path));
  if (got.format !== want.format || got.machine !== want.machine) {
    fail(
      `${path} is ${got.format} for machine 0x${got.machine.toString(16)}, want ${want.format} 0x${want.machine.toString(16)}`
    );
  }
  console.log(`${path}: ${(bytes / 1024 / 1024).toFixed(1)} MiB, ${got.format}`);
}
size('dist/go_plugin_build_manifest');
const moduleBytes = size('dist/module.js');
console.log(`dist/module.js: ${(moduleBytes / 1024).toFixed(1)} KiB`);
console.log('check-dist: ok');
