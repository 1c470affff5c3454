/**
 * IANA protocol names and numbers, as pkg/models/protocols.go has them. The Flows API filter
 * takes the number; users type or pick a name. Names match case-insensitively.
 */

/** Name typed by a user (lower case) → IANA number. */
export const IANA_PROTOCOLS: Readonly<Record<string, number>> = {
  icmp: 1,
  igmp: 2,
  ipip: 4,
  ipv4: 4,
  tcp: 6,
  egp: 8,
  udp: 17,
  ipv6: 41,
  rsvp: 46,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  'ipv6-icmp': 58,
  eigrp: 88,
  ospf: 89,
  pim: 103,
  vrrp: 112,
  l2tp: 115,
  sctp: 132,
  udplite: 136,
};

/** Display name of each number, as the API spells it. */
export const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  1: 'ICMP',
  2: 'IGMP',
  4: 'IPIP',
  6: 'TCP',
  8: 'EGP',
  17: 'UDP',
  41: 'IPv6',
  46: 'RSVP',
  47: 'GRE',
  50: 'ESP',
  51: 'AH',
  58: 'ICMPv6',
  88: 'EIGRP',
  89: 'OSPF',
  103: 'PIM',
  112: 'VRRP',
  115: 'L2TP',
  132: 'SCTP',
  136: 'UDPLite',
};

/** The protocols offered by name in the editor, most common first. */
export const COMMON_PROTOCOLS: readonly number[] = [
  6, 17, 1, 58, 47, 50, 51, 132, 89, 88, 2, 103, 112, 115, 4, 41, 46, 8, 136,
];

/** "tcp", "TCP" or "6" → 6; anything else → undefined. Mirrors models.ParseProtocol. */
export function parseProtocol(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n <= 255 ? n : undefined;
  }
  return IANA_PROTOCOLS[s.toLowerCase()];
}
