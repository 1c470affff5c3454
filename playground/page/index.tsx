/**
 * The editor playground: the plugin's config editor, query editor and variable editor, mounted
 * with Grafana's theme as Grafana mounts them, in a real browser. The data source is the
 * plugin's own DataSource class; its backend calls go through @grafana/runtime's backendSrv
 * (set below) to cmd/editor-playground, which answers them with the plugin's Go backend over
 * the project's simulator. What the page adds is what Grafana's pages around the editors do:
 * the "Save & test" button and its health message, running a query, and a variable's preview
 * of values. See docs/frontend.md, "Editor playground".
 */
import '@fontsource/inter/latin-400.css';
import '@fontsource/inter/latin-500.css';
import '@fontsource/roboto-mono/latin-400.css';
import React, { useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import {
  CoreApp,
  createTheme,
  DataFrame,
  DataQueryRequest,
  DataSourceInstanceSettings,
  DataSourcePluginMeta,
  DataSourceSettings,
  dateTime,
  LoadingState,
  PanelData,
  TimeRange,
} from '@grafana/data';
import { setBackendSrv, setTemplateSrv, TemplateSrv } from '@grafana/runtime';
import { Alert, Button, GlobalStyles, Stack, Text, ThemeContext } from '@grafana/ui';
import { lastValueFrom } from 'rxjs';

import pluginJson from '../../src/plugin.json';
import { ConfigEditor } from '../../src/components/ConfigEditor';
import { QueryEditor } from '../../src/components/QueryEditor';
import { VariableQueryEditor } from '../../src/components/VariableQueryEditor';
import { DataSource } from '../../src/datasource';
import { FlowsDataSourceOptions, FlowsQuery, FlowsSecureJsonData } from '../../src/types';
import { playgroundBackendSrv } from './backendSrv';

const UID = 'playground';
const SETTINGS_URL = `/api/datasources/uid/${UID}`;

type Settings = DataSourceSettings<FlowsDataSourceOptions, FlowsSecureJsonData>;

setBackendSrv(playgroundBackendSrv);
// The playground's dashboard has no variables: every text stays as written.
setTemplateSrv({
  getVariables: () => [],
  replace: (target?: string) => target ?? '',
  containsTemplate: () => false,
  updateTimeRange: () => {},
} as unknown as TemplateSrv);

const theme = createTheme({ colors: { mode: 'dark' } });

function newDataSource(settings: Settings): DataSource {
  const instance: DataSourceInstanceSettings<FlowsDataSourceOptions> = {
    id: settings.id,
    uid: settings.uid,
    type: settings.type,
    name: settings.name,
    access: 'proxy',
    readOnly: false,
    url: settings.url,
    jsonData: settings.jsonData,
    meta: pluginJson as unknown as DataSourcePluginMeta<FlowsDataSourceOptions>,
  };
  return new DataSource(instance);
}

function lastHour(): TimeRange {
  const to = dateTime();
  return { from: dateTime(to).subtract(1, 'hour'), to, raw: { from: 'now-1h', to: 'now' } };
}

/** Runs queries as a panel does: the time range, an interval, and the plugin's query(). */
async function runQueries(ds: DataSource, targets: FlowsQuery[], range: TimeRange, app: CoreApp): Promise<PanelData> {
  const request = {
    app,
    requestId: `playground-${Date.now()}`,
    targets,
    range,
    interval: '1m',
    intervalMs: 60000,
    maxDataPoints: 500,
    scopedVars: {},
    timezone: 'utc',
    startTime: Date.now(),
  } as DataQueryRequest<FlowsQuery>;
  const res = await lastValueFrom(ds.query(request));
  return {
    state: res.errors?.length ? LoadingState.Error : LoadingState.Done,
    series: res.data as DataFrame[],
    errors: res.errors,
    request,
    timeRange: range,
  };
}

function ResultSummary({ data }: { data?: PanelData }) {
  if (!data) {
    return null;
  }
  if (data.errors?.length) {
    return (
      <Alert severity="error" title="Query error">
        {data.errors.map((e) => e.message).join('\n')}
      </Alert>
    );
  }
  const rows = data.series.reduce((n, f) => n + f.length, 0);
  return (
    <Text color="secondary" element="p">
      <span data-testid="query-result">{`Result: ${data.series.length} frame(s), ${rows} row(s)`}</span>
    </Text>
  );
}

interface Health {
  status: 'success' | 'error';
  message: string;
}

function ConfigPage({ initial, onSaved }: { initial: Settings; onSaved: (s: Settings) => void }) {
  const [settings, setSettings] = useState<Settings>(initial);
  const [health, setHealth] = useState<Health>();
  const [testing, setTesting] = useState(false);

  // As Grafana's data source page: save the settings, then run the backend's health check.
  const saveAndTest = async () => {
    setTesting(true);
    setHealth(undefined);
    try {
      const saved = await playgroundBackendSrv.put<{ datasource: Settings }>(SETTINGS_URL, settings);
      const next = { ...settings, secureJsonFields: saved.datasource.secureJsonFields, secureJsonData: {} };
      setSettings(next);
      onSaved(next);
      const res = await newDataSource(next).testDatasource();
      setHealth({ status: res.status === 'success' ? 'success' : 'error', message: res.message });
    } catch (err) {
      const e = err as { message?: string; data?: { message?: string } };
      setHealth({ status: 'error', message: e.message ?? e.data?.message ?? String(err) });
    } finally {
      setTesting(false);
    }
  };

  return (
    <Stack direction="column" gap={2}>
      <ConfigEditor options={settings} onOptionsChange={setSettings} />
      {health && (
        <Alert
          severity={health.status}
          title={health.status === 'success' ? 'Data source is working' : 'Health check failed'}
        >
          <span data-testid="health-message">{health.message}</span>
        </Alert>
      )}
      <Stack direction="row">
        <Button onClick={saveAndTest} disabled={testing}>
          Save &amp; test
        </Button>
      </Stack>
    </Stack>
  );
}

function QueryPage({ ds }: { ds: DataSource }) {
  const range = useMemo(lastHour, []);
  const [query, setQuery] = useState<FlowsQuery>({
    refId: 'A',
    ...ds.getDefaultQuery(CoreApp.PanelEditor),
  } as FlowsQuery);
  const [data, setData] = useState<PanelData>();
  const [runs, setRuns] = useState(0);

  useEffect(() => {
    let current = true;
    runQueries(ds, [query], range, CoreApp.PanelEditor).then((d) => current && setData(d));
    return () => {
      current = false;
    };
    // run on "Run query" (runs) and when the data source changes, as a panel does
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ds, runs, range]);

  return (
    <Stack direction="column" gap={1}>
      <QueryEditor
        datasource={ds}
        query={query}
        onChange={setQuery}
        onRunQuery={() => setRuns((n) => n + 1)}
        range={range}
        data={data}
        app={CoreApp.PanelEditor}
      />
      <ResultSummary data={data} />
      <pre data-testid="saved-query" hidden>
        {JSON.stringify(query)}
      </pre>
    </Stack>
  );
}

function VariablePage({ ds }: { ds: DataSource }) {
  const range = useMemo(lastHour, []);
  const [query, setQuery] = useState<FlowsQuery>({ refId: 'variable' } as FlowsQuery);
  const [values, setValues] = useState<string[]>();
  const [error, setError] = useState<string>();
  const [runs, setRuns] = useState(0);

  // Grafana's variable editor shows a preview of the values the query returns.
  useEffect(() => {
    if (runs === 0) {
      return;
    }
    let current = true;
    runQueries(ds, [query], range, CoreApp.Dashboard).then((d) => {
      if (!current) {
        return;
      }
      setError(d.errors?.map((e) => e.message).join('\n'));
      const text = d.series[0]?.fields.find((f) => f.name === 'text');
      setValues(text ? text.values.map(String) : []);
    });
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ds, runs, range]);

  return (
    <Stack direction="column" gap={1}>
      <VariableQueryEditor datasource={ds} query={query} onChange={setQuery} onRunQuery={() => setRuns((n) => n + 1)} />
      {error && <Alert severity="error" title={error} />}
      {values && (
        <div data-testid="variable-preview">
          <Text element="h5">Preview of values</Text>
          <Stack direction="row" wrap="wrap" gap={1}>
            {values.slice(0, 20).map((v) => (
              <span key={v} className="playground-value">
                {v}
              </span>
            ))}
          </Stack>
        </div>
      )}
    </Stack>
  );
}

function Playground() {
  const [settings, setSettings] = useState<Settings>();
  const [loadError, setLoadError] = useState<string>();

  useEffect(() => {
    playgroundBackendSrv
      .get<Settings>(SETTINGS_URL)
      .then((s) => setSettings({ ...s, secureJsonData: {} }))
      .catch((e) => setLoadError(String(e?.message ?? e)));
  }, []);
  const ds = useMemo(() => (settings ? newDataSource(settings) : undefined), [settings]);

  if (loadError) {
    return <Alert severity="error" title={`Cannot load the data source: ${loadError}`} />;
  }
  if (!settings || !ds) {
    return <Text>Loading…</Text>;
  }
  return (
    <main className="playground">
      <section aria-label="Config editor" className="playground-editor">
        <Text element="h2">Data source settings</Text>
        <ConfigPage initial={settings} onSaved={setSettings} />
      </section>
      {/* a new data source after each save, as Grafana makes one when settings change */}
      <section aria-label="Query editor" className="playground-editor">
        <Text element="h2">Query</Text>
        <QueryPage key={`q-${settings.jsonData.source ?? ''}`} ds={ds} />
      </section>
      <section aria-label="Variable editor" className="playground-editor">
        <Text element="h2">Variable query</Text>
        <VariablePage key={`v-${settings.jsonData.source ?? ''}`} ds={ds} />
      </section>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <ThemeContext.Provider value={theme}>
    <GlobalStyles />
    <Playground />
  </ThemeContext.Provider>
);
