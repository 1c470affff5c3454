/** Conversions between query values and the text the editor shows. */
import { FilterValue, NumberOrString, NumericFilterValue } from '../types';

/** A filter as text: a list is shown comma-separated. */
export function filterText(value: NumericFilterValue | undefined): string {
  if (value === undefined || value === null) {
    return '';
  }
  return Array.isArray(value) ? value.join(', ') : String(value);
}

function items(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Typed text → a string filter: one value, a list (comma-separated), or undefined (no filter). */
export function parseTextFilter(text: string): FilterValue | undefined {
  const list = items(text);
  if (list.length === 0) {
    return undefined;
  }
  return list.length === 1 ? list[0] : list;
}

/** Typed text → a port or protocol filter: whole numbers become numbers, the rest stays text. */
export function parseNumericFilter(text: string): NumericFilterValue | undefined {
  const list = items(text).map(toNumberOrString);
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
