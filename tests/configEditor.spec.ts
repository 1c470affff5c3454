import { expect, test } from '@grafana/plugin-e2e';

import { FLOWS_API_TOKEN, FLOWS_API_URL, PLUGIN_ID } from './env';

// End-to-end specs for a running Grafana with this plugin installed (`npm run e2e`), e.g. the
// docker compose setup. They do not run in CI: jest covers the editors there.

const urlField = 'Data source connection URL';

test('config editor shows the connection, token, TLS and limit settings', async ({
  createDataSourceConfigPage,
  page,
}) => {
  await createDataSourceConfigPage({ type: PLUGIN_ID });
  await expect(page.getByRole('textbox', { name: urlField })).toBeVisible();
  await expect(page.getByLabel('API token')).toBeVisible();
  await expect(page.getByText('Skip TLS certificate validation')).toBeVisible();
  await expect(page.getByLabel('Row cap')).toBeVisible();
});

test('"Save & test" succeeds with the Flows API URL and token', async ({ createDataSourceConfigPage, page }) => {
  const configPage = await createDataSourceConfigPage({ type: PLUGIN_ID });
  await page.getByRole('textbox', { name: urlField }).fill(FLOWS_API_URL);
  await page.getByLabel('API token').fill(FLOWS_API_TOKEN);
  await expect(configPage.saveAndTest()).toBeOK();
  await expect(configPage).toHaveAlert('success');
});

test('"Save & test" fails without a URL, saying why', async ({ createDataSourceConfigPage, page }) => {
  const configPage = await createDataSourceConfigPage({ type: PLUGIN_ID });
  await page.getByLabel('API token').fill(FLOWS_API_TOKEN);
  await expect(configPage.saveAndTest()).not.toBeOK();
  await expect(configPage).toHaveAlert('error', { hasText: /URL/ });
});

test('a saved token is never shown again', async ({ createDataSourceConfigPage, page }) => {
  const configPage = await createDataSourceConfigPage({ type: PLUGIN_ID });
  await page.getByRole('textbox', { name: urlField }).fill(FLOWS_API_URL);
  await page.getByLabel('API token').fill(FLOWS_API_TOKEN);
  await expect(configPage.saveAndTest()).toBeOK();
  await page.reload();
  await expect(page.getByLabel('API token')).toHaveValue('configured');
  await expect(page.locator('body')).not.toContainText(FLOWS_API_TOKEN);
});
