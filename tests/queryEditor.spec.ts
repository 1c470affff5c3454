import { expect, test } from '@grafana/plugin-e2e';

import { FLOWS_API_TOKEN, FLOWS_API_URL, PLUGIN_ID } from './env';

test('query editor starts as top talkers and runs a query when the type changes', async ({
  createDataSource,
  panelEditPage,
}) => {
  const ds = await createDataSource({
    type: PLUGIN_ID,
    name: `Flows API e2e ${Date.now()}`,
    url: FLOWS_API_URL,
    secureJsonData: { apiToken: FLOWS_API_TOKEN },
  });
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');
  await expect(row.getByRole('radio', { name: 'Top talkers' })).toBeChecked();

  const queryRequest = panelEditPage.waitForQueryDataRequest();
  await row.getByText('Protocols', { exact: true }).click();
  await expect(await queryRequest).toBeTruthy();
  await expect(row.getByRole('radio', { name: 'Protocols' })).toBeChecked();
});
