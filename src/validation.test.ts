import cases from '../pkg/models/testdata/validation_cases.json';

import { canonicalIP, validateField, validateQuery } from './validation';

interface Case {
  field: string;
  value: string | number;
  message: string;
}

describe('validation mirrors the backend (pkg/models/testdata/validation_cases.json)', () => {
  it('has cases for every kind of field', () => {
    const fields = new Set((cases as Case[]).map((c) => c.field));
    expect([...fields].sort()).toEqual(['dstIp', 'exporter', 'format', 'limit', 'port', 'protocol', 'srcIp', 'topN']);
  });

  it.each((cases as Case[]).map((c) => [c.field, JSON.stringify(c.value), c] as const))(
    '%s %s',
    (_field, _value, c) => {
      expect(validateField(c.field, c.value) ?? '').toBe(c.message);
    }
  );
});

describe('validateQuery', () => {
  it('skips values holding template variables: they are interpolated later', () => {
    expect(
      validateQuery({
        refId: 'A',
        srcIp: '$src',
        dstIp: ['${dst}', '10.0.0.1'],
        port: '[[port]]',
        protocol: '${proto:csv}',
        limit: '$rows',
        topN: '${top}',
        dim: '$dim' as never,
      })
    ).toEqual({});
  });

  it('checks every item of a list and names the first bad one', () => {
    expect(validateQuery({ refId: 'A', srcIp: ['10.0.0.1', '10.0.0.300', 'x'], port: [80, 70000] })).toEqual({
      srcIp: "srcIp: '10.0.0.300' is not an IP address (IPv4 like 10.0.0.5 or IPv6 like 2001:db8::1)",
      port: "port: '70000' is not a port number from 0 to 65535",
    });
  });

  it('reports a choice outside the allowed values as the backend does', () => {
    expect(validateQuery({ refId: 'A', groupBy: 'host' as never })).toEqual({
      groupBy: "groupBy: 'host' is not one of none, protocol, src, dst, pair, dstPort, exporter",
    });
  });

  it('accepts empty values: they mean "no filter" or "the default"', () => {
    expect(validateQuery({ refId: 'A', srcIp: '', port: [], limit: '', protocol: ' ' })).toEqual({});
  });
});

describe('canonicalIP', () => {
  it('writes one address one way, so filters compare equal however they were typed', () => {
    expect(canonicalIP('2001:DB8:0::1')).toBe(canonicalIP('2001:db8::1'));
    expect(canonicalIP('::ffff:10.0.0.5')).toBe('10.0.0.5');
    expect(canonicalIP('10.0.0.5')).toBe('10.0.0.5');
    expect(canonicalIP('10.0.0.256')).toBeUndefined();
  });
});
