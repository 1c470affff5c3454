import { readFileSync } from 'fs';
import { join } from 'path';

import { COMMON_PROTOCOLS, IANA_PROTOCOLS, PROTOCOL_NAMES, parseProtocol } from './protocols';
import { validateField } from './validation';

// The file the backend embeds, read here on its own: pkg/models TestProtocolTable checks the
// same file against the backend, so both sides are held to the whole table.
const file: { protocols: Array<{ number: number; name: string; names: string[] }> } = JSON.parse(
  readFileSync(join(__dirname, '..', 'pkg', 'models', 'protocols.json'), 'utf8')
);

describe('the protocol table is pkg/models/protocols.json, whole', () => {
  it('lists the protocols', () => {
    expect(file.protocols.length).toBeGreaterThanOrEqual(19);
  });

  it.each(file.protocols.map((p) => [p.name, p] as const))('%s', (_name, p) => {
    for (const typed of [...p.names, p.name, String(p.number), ` ${p.names[0].toUpperCase()} `]) {
      expect(parseProtocol(typed)).toBe(p.number);
      expect(validateField('protocol', typed)).toBeUndefined();
    }
    expect(PROTOCOL_NAMES[p.number]).toBe(p.name);
  });

  it('accepts no other name, and offers the protocols in the file order', () => {
    expect(Object.keys(IANA_PROTOCOLS).sort()).toEqual(file.protocols.flatMap((p) => p.names).sort());
    expect(COMMON_PROTOCOLS).toEqual(file.protocols.map((p) => p.number));
    for (const typed of ['tcpx', 'constructor', 'toString', '__proto__', '256']) {
      expect(parseProtocol(typed)).toBeUndefined();
    }
  });
});
