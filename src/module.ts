import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import { FlowsDataSourceOptions, FlowsQuery, FlowsSecureJsonData } from './types';

export const plugin = new DataSourcePlugin<DataSource, FlowsQuery, FlowsDataSourceOptions, FlowsSecureJsonData>(
  DataSource
)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
