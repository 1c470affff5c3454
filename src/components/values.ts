/** Conversions between query values and what the editor shows. */
import { FilterValue, NumberOrString, NumericFilterValue } from '../types';

/** A filter as the values the editor shows, one tag each. */
export function filterValues(value: NumericFilterValue | undefined): string[] {
  if (value === undefined || value === null) {
    return [];
  }
  return (Array.isArray(value) ? value : [value]).map(String).filter((s) => s.trim() !== '');
}

/**
 * Tags → what the query saves, the shape it always had: no filter (undefined), one value, or a
 * list. A tag holding commas is split, so a pasted list `10.0.0.1, 10.0.0.2` is two values.
 */
function items(values: string[]): string[] {
  const out: string[] = [];
  for (const s of values.flatMap((v) => v.split(',')).map((v) => v.trim())) {
    if (s !== '' && !out.includes(s)) {
      out.push(s);
    }
  }
  return out;
}

/** Tags → a string filter. */
export function textFilter(values: string[]): FilterValue | undefined {
  const list = items(values);
  if (list.length === 0) {
    return undefined;
  }
  return list.length === 1 ? list[0] : list;
}

/** Tags → a port or protocol filter: whole numbers become numbers, the rest stays text. */
export function numericFilter(values: string[]): NumericFilterValue | undefined {
  const list = items(values).map(toNumberOrString);
  if (list.length === 0) {
    return undefined;
  }
  return list.length === 1 ? list[0] : list;
}

/** "25" → 25; "$rows" stays text. */
export function toNumberOrString(text: string): NumberOrString {
  const s = text.trim();
  return /^\d+$/.test(s) ? Number(s) : s;
}

/** A numeric setting from typed text: empty means the default (undefined). */
export function parseNumber(text: string): NumberOrString | undefined {
  const s = text.trim();
  return s === '' ? undefined : toNumberOrString(s);
}
