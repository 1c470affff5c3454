import { expect, test } from '@grafana/plugin-e2e';
import type { Page } from '@playwright/test';

import { FLOWS_API_TOKEN, FLOWS_API_URL, PLUGIN_ID } from './env';

// End-to-end specs for a running Grafana with this plugin installed and the Flows API simulator
// behind FLOWS_API_URL (`npm run e2e`). jest covers the editors in CI.

async function flowsDataSource(
  createDataSource: (args: {
    type: string;
    name: string;
    url: string;
    secureJsonData: Record<string, string>;
  }) => Promise<{ name: string }>
) {
  return createDataSource({
    type: PLUGIN_ID,
    name: `Flows API e2e ${Date.now()}`,
    url: FLOWS_API_URL,
    secureJsonData: { apiToken: FLOWS_API_TOKEN },
  });
}

/** Picks an option of a @grafana/ui Combobox inside `scope`. */
async function pick(page: Page, scope: ReturnType<Page['locator']>, label: string, option: string) {
  await scope.getByRole('combobox', { name: label }).click();
  await page.getByRole('option', { name: new RegExp(`^${option}`) }).click();
}

test('a new panel query is traffic over time by protocol, and runs when a setting changes', async ({
  createDataSource,
  panelEditPage,
}) => {
  const ds = await flowsDataSource(createDataSource);
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');
  await expect(row.getByRole('radio', { name: 'Traffic over time' })).toBeChecked();
  await expect(row.getByRole('combobox', { name: 'Group by' })).toHaveValue('Protocol');

  const queryRequest = panelEditPage.waitForQueryDataRequest((req) =>
    (req.postData() ?? '').includes('"metric":"packets"')
  );
  await row.getByText('Packets', { exact: true }).click();
  await expect(await queryRequest).toBeTruthy();
  await expect(panelEditPage.refreshPanel()).toBeOK();
});

test('top talkers filtered by protocol and source IP run in the backend', async ({
  createDataSource,
  panelEditPage,
  page,
}) => {
  const ds = await flowsDataSource(createDataSource);
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');

  await row.getByText('Top talkers', { exact: true }).click();
  await pick(page, row, 'Protocol', 'TCP');
  const queryRequest = panelEditPage.waitForQueryDataRequest((req) =>
    (req.postData() ?? '').includes('"srcIp":"10.0.0.5"')
  );
  await row.getByRole('textbox', { name: 'Source IP' }).fill('10.0.0.5');
  await row.getByRole('textbox', { name: 'Source IP' }).blur();
  await expect(await queryRequest).toBeTruthy();
  await expect(panelEditPage.refreshPanel()).toBeOK();
});

test('an invalid IP is flagged with the backend message and not run', async ({ createDataSource, panelEditPage }) => {
  const ds = await flowsDataSource(createDataSource);
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');

  await row.getByRole('textbox', { name: 'Destination IP' }).fill('10.0.0.300');
  await row.getByRole('textbox', { name: 'Destination IP' }).blur();
  await expect(
    row.getByText("dstIp: '10.0.0.300' is not an IP address (IPv4 like 10.0.0.5 or IPv6 like 2001:db8::1)")
  ).toBeVisible();
});

test('the Requests section shows what the backend will ask the Flows API', async ({
  createDataSource,
  panelEditPage,
}) => {
  const ds = await flowsDataSource(createDataSource);
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');

  await row.getByText('Top talkers', { exact: true }).click();
  await row.getByRole('button', { name: /Requests/ }).click();
  await expect(row.getByText(/GET \/api\/v1\/flows/)).toBeVisible();
});

test('the alert rule editor starts with top talkers and offers no flows table', async ({
  createDataSource,
  alertRuleEditPage,
  page,
}) => {
  const ds = await flowsDataSource(createDataSource);
  const query = await alertRuleEditPage.getQueryRow();
  await query.datasource.set(ds.name);
  await expect(page.getByRole('radio', { name: 'Top talkers' })).toBeChecked();
  await expect(page.getByRole('radio', { name: 'Flows table' })).toHaveCount(0);
  await expect(alertRuleEditPage.evaluate()).toBeOK();
});

test('a template variable lists the busiest source IPs', async ({ createDataSource, variableEditPage, page }) => {
  const ds = await flowsDataSource(createDataSource);
  await variableEditPage.setVariableType('Query');
  await variableEditPage.datasource.set(ds.name);
  await page.getByRole('radio', { name: 'Source IPs' }).check({ force: true });
  await variableEditPage.runQuery();
  await expect(variableEditPage).toDisplayPreviews([/\d+\.\d+\.\d+\.\d+|:/]);
});
