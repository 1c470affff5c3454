/** Where the e2e specs find the Flows API (as Grafana's server sees it) and its token. */
export const PLUGIN_ID = 'flowlens-flows-datasource';
export const FLOWS_API_URL = process.env.FLOWS_API_URL ?? 'http://flows-simulator:8080';
export const FLOWS_API_TOKEN = process.env.FLOWS_API_TOKEN ?? 'demo-token';
