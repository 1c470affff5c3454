/**
 * The editors in a real browser: Chromium (Debian's `chromium`, driven by playwright-core)
 * opens the editor playground (playground/page, served with the plugin's backend by
 * cmd/editor-playground over the simulator) and uses the config, query and variable editors as
 * a user does. It takes the plugin catalog's screenshots (src/img/screenshot-*.png).
 *
 * Run by scripts/editor-playground.sh (which builds the page and the server first):
 *   node --test playground/editors.spec.mts
 * Env: CHROMIUM (default /usr/bin/chromium), EDITOR_PLAYGROUND_SERVER (default
 * .cache/editor-playground/server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const serverPath = process.env.EDITOR_PLAYGROUND_SERVER || join(root, '.cache', 'editor-playground', 'server');
const screenshotPath = (name: string) => join(root, 'src', 'img', `screenshot-${name}.png`);

/** A catalog screenshot of one editor, without the focus ring of the field used last or a tooltip. */
async function screenshot(editor: Locator, name: string) {
  // nothing focused (a focused tooltip icon shows its tooltip), the pointer out of the way
  await page.evaluate(async () => {
    (document.activeElement as HTMLElement | null)?.blur();
    await document.fonts.ready;
  });
  await page.mouse.move(0, 0);
  await page
    .getByRole('tooltip')
    .first()
    .waitFor({ state: 'detached', ...SEE });
  await editor.screenshot({ path: screenshotPath(name) });
}

// Waits are for what the user sees; a long one only because the machine may be slow (a hang
// guard: with both cores busy a render that takes a second idle can take minutes).
const SEE = { timeout: 300_000 };

interface ServerInfo {
  url: string;
  simulator: string;
  token: string;
}

let server: ChildProcess;
let info: ServerInfo;
let context: BrowserContext;
let page: Page;
let profile: string;

function startServer(): Promise<ServerInfo> {
  server = spawn(serverPath, ['-static', join(root, 'playground', 'dist')], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('exit', (code) => reject(new Error(`editor-playground exited with ${code} before it listened`)));
    createInterface({ input: server.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
  });
}

let failures = 0;

/** Waits until the user sees `text` in `locator`; if never, keeps a screenshot of the page. */
async function expectText(locator: Locator, text: string | RegExp) {
  try {
    await locator
      .filter({ hasText: text })
      .first()
      .waitFor({ state: 'visible', ...SEE });
  } catch (err) {
    const path = join(root, '.cache', 'editor-playground', `failure-${++failures}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    throw new Error(`${(err as Error).message}\n(the page as it was: ${path})`);
  }
}

before(async () => {
  info = await startServer();
  profile = mkdtempSync(join(tmpdir(), 'playground-chromium-'));
  // Chromium as root in a container: no sandbox, no GPU, nothing that reaches the network.
  // a fresh profile (--user-data-dir, which playwright-core takes as the persistent context's dir)
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    timeout: SEE.timeout,
    viewport: { width: 1100, height: 900 },
    colorScheme: 'dark',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  // Every action and navigation waits as long as SEE (playwright's default is 30 s): hang
  // guards, not speed checks.
  page.setDefaultTimeout(SEE.timeout);
  page.setDefaultNavigationTimeout(SEE.timeout);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(info.url);
  await page.getByRole('heading', { name: 'Data source settings' }).waitFor(SEE);
  if (pageErrors.length) {
    throw new Error(`the page failed: ${pageErrors.join('; ')}`);
  }
});

after(async () => {
  await context?.close();
  server?.kill('SIGTERM');
  if (profile) {
    rmSync(profile, { recursive: true, force: true });
  }
});

describe('config editor', () => {
  it('Save & test shows the backend health message: connected, then a rejected token', async () => {
    const config = page.getByRole('region', { name: 'Config editor' });
    // the data source starts configured for the simulator, with the token stored
    await config.getByPlaceholder('https://siem.example.com').waitFor(SEE);
    if ((await config.getByPlaceholder('https://siem.example.com').inputValue()) !== info.simulator) {
      throw new Error('the URL field does not show the saved URL');
    }
    await config.getByRole('button', { name: 'Save & test' }).click();
    await expectText(config.getByTestId('health-message'), `Connected to the Flows API at ${info.simulator}`);
    await expectText(config, 'Data source is working');

    // a wrong token: reset the stored one, type another, Save & test
    await config.getByRole('button', { name: 'Reset' }).first().click();
    await config.getByPlaceholder('Bearer token').fill('not-the-token');
    await config.getByRole('button', { name: 'Save & test' }).click();
    await expectText(config.getByTestId('health-message'), /API token rejected \(401/);
    await expectText(config, 'Health check failed');
    const shown = await config.getByTestId('health-message').innerText();
    if (shown.includes('not-the-token')) {
      throw new Error(`the health message shows the token: ${shown}`);
    }

    // the right token again
    await config.getByRole('button', { name: 'Reset' }).first().click();
    await config.getByPlaceholder('Bearer token').fill(info.token);
    await config.getByRole('button', { name: 'Save & test' }).click();
    await expectText(config.getByTestId('health-message'), /Connected to the Flows API at .*flows in the last hour/);
    await screenshot(config, 'config-editor');
  });
});

describe('query editor', () => {
  const editor = () => page.getByRole('region', { name: 'Query editor' });
  const requests = () =>
    editor()
      .locator('p')
      .filter({ hasText: /^GET |\/api\/v1\/flows/ });

  // A filter value is a tag whose × removes it. The playground serves none of Grafana's icon
  // SVGs, so the × button has no size and Playwright would wait for it to be visible: the
  // click is dispatched to it instead.
  const removeTag = (q: ReturnType<typeof editor>, tag: string) =>
    q.getByRole('button', { name: `Remove tag: ${tag}` }).dispatchEvent('click');

  it('traffic over time: a typed filter is checked inline, and the preview shows its requests', async () => {
    const q = editor();
    await q.getByRole('radio', { name: 'Traffic over time' }).check();
    await q.getByText('Requests').click();
    await expectText(requests(), '/api/v1/flows');

    // an invalid address: the backend's message inline, the preview shows it instead of requests
    const src = q.locator('input[id^="flows-srcIp-"]');
    await src.fill('10.0.0.300');
    await src.press('Tab');
    await expectText(q.getByRole('alert'), "srcIp: '10.0.0.300' is not an IP address");

    // the bad address is a tag: removing it removes the error; a valid one instead, and the
    // preview (POST preview) asks for that source
    await removeTag(q, '10.0.0.300');
    await src.fill('10.0.0.5');
    await src.press('Tab');
    await q
      .getByRole('alert')
      .filter({ hasText: 'is not an IP address' })
      .waitFor({ state: 'detached', ...SEE });
    await expectText(requests(), /src_?ip=10\.0\.0\.5/i);
    await expectText(q.getByTestId('query-result'), /Result: \d+ frame/);
    await screenshot(q, 'traffic-query');

    // back to any source for the next types
    await removeTag(q, '10.0.0.5');
  });

  it('top talkers: ranked pairs, and the preview asks /top-talkers', async () => {
    const q = editor();
    await q.getByRole('radio', { name: 'Top talkers' }).check();
    await q.getByRole('radio', { name: 'Pair' }).check();
    await expectText(requests(), '/api/v1/flows/top-talkers');
    await expectText(requests(), 'dim=pair');
    await q.getByRole('radio', { name: 'Node graph' }).waitFor(SEE);
    await expectText(q.getByTestId('query-result'), /Result: [1-9]\d* frame/);
    await screenshot(q, 'top-talkers');
  });

  it('protocols: the preview asks /protocols', async () => {
    const q = editor();
    await q.getByRole('radio', { name: 'Protocols' }).check();
    await expectText(requests(), '/api/v1/flows/protocols');
  });

  it('flows table: a protocol picked by name, a bad port shown inline, the preview asks /flows', async () => {
    const q = editor();
    await q.getByRole('radio', { name: 'Flows table' }).check();
    await q.getByRole('radio', { name: 'Bytes' }).check();

    const port = q.locator('input[id^="flows-port-"]');
    await port.fill('70000');
    await port.press('Tab');
    await expectText(q.getByRole('alert'), "port: '70000'");
    await removeTag(q, '70000');
    await port.fill('443');
    await port.press('Tab');

    const protocol = q.locator('input[id^="flows-protocol-"]');
    await protocol.click();
    await protocol.fill('tcp');
    await page.getByRole('option', { name: /^TCP/ }).first().click();
    await expectText(requests(), /\/api\/v1\/flows\?.*port=443/);
    await expectText(requests(), /protocol=(tcp|6)\b/i);
    await expectText(q.getByTestId('query-result'), /Result: 1 frame/);
    await screenshot(q, 'flows-table');
  });
});

describe('variable editor', () => {
  it('exporters: the preview lists the values the backend returns', async () => {
    const v = page.getByRole('region', { name: 'Variable editor' });
    await v.getByRole('radio', { name: 'Exporters' }).check();
    const preview = v.getByTestId('variable-preview');
    await preview.locator('.playground-value').first().waitFor(SEE);
    await v.getByRole('radio', { name: 'Destination IPs' }).check();
    await expectText(preview.locator('.playground-value'), /^[0-9a-f.:]+$/i);
    await screenshot(v, 'variable-editor');
  });
});
