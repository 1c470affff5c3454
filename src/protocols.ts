/**
 * IANA protocol names and numbers. The table is pkg/models/protocols.json, the same file the
 * backend embeds, so the editor offers and accepts exactly the names the backend accepts. The
 * Flows API filter takes the number; users type or pick a name. Names match case-insensitively.
 */
import table from '../pkg/models/protocols.json';

/** One entry of protocols.json: number, shown name, names a user may type (lower case). */
export interface Protocol {
  number: number;
  name: string;
  names: string[];
}

/** The table, in the order the editor offers it (most common first). */
export const PROTOCOLS: readonly Protocol[] = table.protocols;

/** Name typed by a user (lower case) → IANA number. */
export const IANA_PROTOCOLS: Readonly<Record<string, number>> = Object.fromEntries(
  PROTOCOLS.flatMap((p) => p.names.map((name) => [name, p.number]))
);

/** Display name of each number. */
export const PROTOCOL_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  PROTOCOLS.map((p) => [p.number, p.name])
);

/** The protocols offered by name in the editor, most common first. */
export const COMMON_PROTOCOLS: readonly number[] = PROTOCOLS.map((p) => p.number);

/** "tcp", "TCP" or "6" → 6; anything else → undefined. Mirrors models.ParseProtocol. */
export function parseProtocol(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n <= 255 ? n : undefined;
  }
  return Object.prototype.hasOwnProperty.call(IANA_PROTOCOLS, s.toLowerCase())
    ? IANA_PROTOCOLS[s.toLowerCase()]
    : undefined;
}
