/**
 * The backend's query checks (pkg/models/query.go), run in the editor so a user sees the same
 * message inline before the query runs. Messages are identical to the backend's, character for
 * character: pkg/models/testdata/validation_cases.json is checked against both (jest here, go
 * test there).
 *
 * Values holding a template variable (`$x`, `${x}`, `${x:csv}`, `[[x]]`) are skipped: they are
 * interpolated later, and the backend checks the result.
 */
import { parseProtocol } from './protocols';
import { FILTER_FIELDS, FilterField, FlowsQuery } from './types';

/** Bounds of the whole-number fields, as the backend has them (models.MaxRowCap for limit). */
export const MAX_LIMIT = 1000000;
export const MAX_TOP_N = 1000;

/** What Grafana leaves of a variable it could not replace; the backend's leftoverVariable. */
const TEMPLATE_VARIABLE = /\$\{?[A-Za-z_][A-Za-z0-9_.:]*\}?|\[\[[^\]]+\]\]/;

export function hasTemplateVariable(text: string): boolean {
  return TEMPLATE_VARIABLE.test(text);
}

/** A JSON scalar as the backend reads it into text (scalarText). */
function scalarText(value: unknown): string {
  if (value === undefined || value === null) {
    return '';
  }
  return String(value);
}

function fieldError(field: string, value: string, msg: string): string {
  return value === '' ? `${field}: ${msg}` : `${field}: '${value}' ${msg}`;
}

/** The non-empty, trimmed entries of a filter (a value or a list), as the backend's cleanList. */
export function filterItems(value: unknown): string[] {
  const items = Array.isArray(value) ? value : [value];
  return items.map((v) => scalarText(v).trim()).filter((s) => s !== '');
}

// --- IP addresses: net/netip.ParseAddr, without zones -----------------------------------------

function parseIPv4(s: string): number[] | undefined {
  const fields = s.split('.');
  if (fields.length !== 4) {
    return undefined;
  }
  const out: number[] = [];
  for (const f of fields) {
    // one to three digits, no leading zero, at most 255
    if (!/^(0|[1-9]\d{0,2})$/.test(f)) {
      return undefined;
    }
    const n = Number(f);
    if (n > 255) {
      return undefined;
    }
    out.push(n);
  }
  return out;
}

const HEX_DIGIT = /^[0-9a-fA-F]$/;

function parseIPv6(input: string): number[] | undefined {
  if (input.includes('%')) {
    // a zone (fe80::1%eth0): the API filters take plain addresses
    return undefined;
  }
  let s = input;
  const ip: number[] = new Array(16).fill(0);
  let ellipsis = -1;
  if (s.startsWith('::')) {
    ellipsis = 0;
    s = s.slice(2);
    if (s === '') {
      return ip;
    }
  }
  let i = 0;
  while (i < 16) {
    let off = 0;
    let acc = 0;
    while (off < s.length && HEX_DIGIT.test(s[off])) {
      if (off > 3) {
        return undefined; // more than 4 hex digits
      }
      acc = acc * 16 + parseInt(s[off], 16);
      off++;
    }
    if (off === 0) {
      return undefined;
    }
    if (off < s.length && s[off] === '.') {
      // embedded IPv4 in the last 32 bits
      if ((ellipsis < 0 && i !== 12) || i + 4 > 16) {
        return undefined;
      }
      const v4 = parseIPv4(s);
      if (!v4) {
        return undefined;
      }
      ip.splice(i, 4, ...v4);
      i += 4;
      s = '';
      break;
    }
    ip[i] = acc >> 8;
    ip[i + 1] = acc & 0xff;
    i += 2;
    s = s.slice(off);
    if (s === '') {
      break;
    }
    if (s[0] !== ':' || s.length === 1) {
      return undefined;
    }
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) {
        return undefined; // a second ::
      }
      ellipsis = i;
      s = s.slice(1);
      if (s === '') {
        break;
      }
    }
  }
  if (s !== '') {
    return undefined;
  }
  if (i < 16) {
    if (ellipsis < 0) {
      return undefined;
    }
    const n = 16 - i;
    const tail = ip.slice(ellipsis, i);
    ip.fill(0, ellipsis, 16);
    ip.splice(ellipsis + n, tail.length, ...tail);
  } else if (ellipsis >= 0) {
    return undefined; // :: must stand for at least one zero field
  }
  return ip;
}

/**
 * Parses an IPv4 or IPv6 address the way Go's netip.ParseAddr does (no zone). Returns its
 * canonical text (IPv4-mapped IPv6 addresses unmapped, as the backend does), or undefined.
 */
export function canonicalIP(text: string): string | undefined {
  const s = text;
  for (const c of s) {
    if (c === '.') {
      return parseIPv4(s)?.join('.');
    }
    if (c === ':') {
      const b = parseIPv6(s);
      if (!b) {
        return undefined;
      }
      const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
      if (mapped) {
        return b.slice(12).join('.');
      }
      return b.map((x) => x.toString(16).padStart(2, '0')).join('');
    }
    if (c === '%') {
      return undefined;
    }
  }
  return undefined;
}

export function isIPAddress(text: string): boolean {
  return canonicalIP(text) !== undefined;
}

// --- field checks ------------------------------------------------------------------------------

function checkIPs(field: string, value: unknown): string | undefined {
  for (const s of filterItems(value)) {
    if (hasTemplateVariable(s)) {
      continue;
    }
    if (!isIPAddress(s)) {
      return fieldError(field, s, 'is not an IP address (IPv4 like 10.0.0.5 or IPv6 like 2001:db8::1)');
    }
  }
  return undefined;
}

function checkPorts(value: unknown): string | undefined {
  for (const s of filterItems(value)) {
    if (hasTemplateVariable(s)) {
      continue;
    }
    if (!/^\d+$/.test(s) || Number(s) > 65535) {
      return fieldError('port', s, 'is not a port number from 0 to 65535');
    }
  }
  return undefined;
}

function checkProtocols(value: unknown): string | undefined {
  for (const s of filterItems(value)) {
    if (hasTemplateVariable(s)) {
      continue;
    }
    if (parseProtocol(s) === undefined) {
      return fieldError(
        'protocol',
        s,
        'is not a protocol name (tcp, udp, icmp, gre, esp, icmpv6, sctp, …) or an IANA number from 0 to 255'
      );
    }
  }
  return undefined;
}

/** A whole number from lo to hi, as the backend's wholeNumber (strconv.Atoi, trimmed). */
function checkWholeNumber(field: string, value: unknown, lo: number, hi: number): string | undefined {
  const s = scalarText(value).trim();
  if (s === '' || hasTemplateVariable(s)) {
    return undefined;
  }
  if (!/^[+-]?\d+$/.test(s)) {
    return fieldError(field, s, `must be a whole number from ${lo} to ${hi}`);
  }
  const n = Number(s);
  if (n < lo || n > hi) {
    return fieldError(field, s, `must be a whole number from ${lo} to ${hi}`);
  }
  return undefined;
}

/** Allowed values of the choice fields, as the backend's oneOf calls list them. */
const CHOICES: Record<string, readonly string[]> = {
  format: ['table', 'timeseries', 'nodegraph'],
  sort: ['timestamp', 'bytes', 'packets'],
  order: ['asc', 'desc'],
  metric: ['bytes', 'packets', 'flows'],
  unit: ['rate', 'total'],
  groupBy: ['none', 'protocol', 'src', 'dst', 'pair', 'dstPort', 'exporter'],
  dim: ['src', 'dst', 'pair'],
  by: ['bytes', 'packets'],
  variable: ['srcIp', 'dstIp', 'exporter', 'protocol', 'port'],
};

function checkChoice(field: string, value: unknown): string | undefined {
  const s = scalarText(value);
  if (s === '' || hasTemplateVariable(s)) {
    return undefined;
  }
  const allowed = CHOICES[field];
  return allowed.includes(s) ? undefined : fieldError(field, s, `is not one of ${allowed.join(', ')}`);
}

/** The fields validateField knows. */
export type ValidatedField = FilterField | 'limit' | 'topN' | keyof typeof CHOICES;

/**
 * The backend's message for one field's value, or undefined when the backend accepts it.
 * `value` is what the query JSON holds: a string, a number or (filters) a list.
 */
export function validateField(field: string, value: unknown): string | undefined {
  switch (field) {
    case 'srcIp':
    case 'dstIp':
    case 'exporter':
      return checkIPs(field, value);
    case 'port':
      return checkPorts(value);
    case 'protocol':
      return checkProtocols(value);
    case 'limit':
      return checkWholeNumber('limit', value, 1, MAX_LIMIT);
    case 'topN':
      return checkWholeNumber('topN', value, 1, MAX_TOP_N);
    default:
      return field in CHOICES ? checkChoice(field, value) : undefined;
  }
}

/** Every field of a query the backend would reject, with its message. Empty: the query is valid. */
export type QueryErrors = Partial<Record<ValidatedField, string>>;

const VALIDATED_FIELDS: readonly ValidatedField[] = [
  ...FILTER_FIELDS,
  'limit',
  'topN',
  ...(Object.keys(CHOICES) as Array<keyof typeof CHOICES>),
];

export function validateQuery(query: Partial<FlowsQuery>): QueryErrors {
  const errors: QueryErrors = {};
  const values = query as Record<string, unknown>;
  for (const field of VALIDATED_FIELDS) {
    const msg = validateField(field, values[field]);
    if (msg) {
      errors[field] = msg;
    }
  }
  return errors;
}

export function isValidQuery(query: Partial<FlowsQuery>): boolean {
  return Object.keys(validateQuery(query)).length === 0;
}
