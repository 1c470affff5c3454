/**
 * The plugin catalog's view of the plugin: plugin.json's screenshots, logos and links, and the
 * catalog page (src/README.md). The screenshots are taken by the editor playground spec
 * (playground/editors.spec.mts); this checks that what plugin.json lists and what src/img holds
 * are the same set, and that the catalog page shows them.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';

const srcDir = join(__dirname);
const plugin = JSON.parse(readFileSync(join(srcDir, 'plugin.json'), 'utf8'));
const readme = readFileSync(join(srcDir, 'README.md'), 'utf8');
const REPO = 'https://github.com/flowlens/flows-datasource';

describe('plugin.json for the catalog', () => {
  const listed: Array<{ name: string; path: string }> = plugin.info.screenshots;

  it('lists every src/img/screenshot-*.png, each with a name, and nothing that is not there', () => {
    const onDisk = readdirSync(join(srcDir, 'img'))
      .filter((f) => /^screenshot-.*\.png$/.test(f))
      .map((f) => `img/${f}`)
      .sort();
    expect(onDisk.length).toBeGreaterThanOrEqual(5);
    expect(listed.map((s) => s.path).sort()).toEqual(onDisk);
    for (const s of listed) {
      expect(s.name.trim()).not.toBe('');
      expect(existsSync(join(srcDir, s.path))).toBe(true);
    }
  });

  it('has a small logo of its own, and both logos exist', () => {
    const { small, large } = plugin.info.logos;
    expect(small).not.toBe(large);
    for (const logo of [small, large]) {
      expect(readFileSync(join(srcDir, logo), 'utf8')).toMatch(/^<svg [^>]*viewBox=/);
    }
  });

  it('links to the documentation and the issues of the repository', () => {
    const links: Array<{ name: string; url: string }> = plugin.info.links;
    const byName = Object.fromEntries(links.map((l) => [l.name, l.url]));
    expect(byName.Documentation).toMatch(new RegExp(`^${REPO}/`));
    expect(byName.Issues).toBe(`${REPO}/issues`);
  });
});

describe('the catalog page (src/README.md)', () => {
  it.each([
    'Requirements',
    'Getting started',
    'Configuration',
    'Provisioning',
    'Queries',
    'Alerting',
    'Template variables',
    'Troubleshooting',
  ])('has the section %s', (section) => {
    expect(readme).toMatch(new RegExp(`^## ${section}$`, 'm'));
  });

  it.each(['Traffic over time', 'Top talkers', 'Protocols', 'Flows table'])('describes the query type %s', (type) => {
    expect(readme).toMatch(new RegExp(`^### ${type}$`, 'm'));
  });

  it('shows every listed screenshot with a relative path', () => {
    for (const s of plugin.info.screenshots as Array<{ path: string }>) {
      expect(readme).toContain(`](${s.path})`);
    }
  });

  it.each(['Flows API', 'Trustgrid', 'Huawei Cloud Firewall', 'Calico', 'AWS VPC flow logs'])(
    'configures the source %s',
    (source) => {
      expect(readme).toMatch(new RegExp(`^### ${source}.*jsonData\\.source`, 'm'));
    }
  );

  // The health messages quoted under Troubleshooting are the backend's own words.
  it.each([
    ['pkg/sources/flowsapi/client.go', 'check the API token in the data source settings'],
    ['pkg/sources/flowsapi/client.go', 'which should be the address in front of /api/v1'],
    ['pkg/sources/flowsapi/client.go', 'is the Flows API running, and are the host and port in the URL right?'],
    ['pkg/sources/flowsapi/client.go', 'check https/http in the URL and the TLS settings'],
    ['pkg/sources/flowsapi/source.go', 'flows in the last hour.'],
    ['pkg/sources/trustgrid/client.go', 'check the API client ID and secret, or the JWT'],
    ['pkg/plugin/health.go', 'Settings: '],
  ])('quotes %s: %s', (file, message) => {
    expect(readFileSync(join(srcDir, '..', file), 'utf8')).toContain(message);
    expect(readme).toContain(message);
  });
});
