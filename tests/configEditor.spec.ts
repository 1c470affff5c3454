import { expect, test } from '@grafana/plugin-e2e';

import { FLOWS_API_TOKEN, FLOWS_API_URL, PLUGIN_ID } from './env';

// End-to-end specs for a running Grafana with this plugin installed (`npm run e2e`), e.g. the
// docker compose setup. They do not run in CI: jest covers the editors there.

test('config editor shows the connection and limit settings', async ({ createDataSourceConfigPage, page }) => {
  await createDataSourceConfigPage({ type: PLUGIN_ID });
  await expect(page.getByLabel('URL')).toBeVisible();
  await expect(page.getByLabel('API token')).toBeVisible();
  await expect(page.getByLabel('Row cap')).toBeVisible();
});

test('"Save & test" succeeds with the Flows API URL and token', async ({ createDataSourceConfigPage, page }) => {
  const configPage = await createDataSourceConfigPage({ type: PLUGIN_ID });
  await page.getByLabel('URL').fill(FLOWS_API_URL);
  await page.getByLabel('API token').fill(FLOWS_API_TOKEN);
  await expect(configPage.saveAndTest()).toBeOK();
});

test('"Save & test" fails without a URL', async ({ createDataSourceConfigPage, page }) => {
  const configPage = await createDataSourceConfigPage({ type: PLUGIN_ID });
  await page.getByLabel('API token').fill(FLOWS_API_TOKEN);
  await expect(configPage.saveAndTest()).not.toBeOK();
});
