package models

import (
	"strconv"
	"strings"
)

// ianaProtocols maps the protocol names users type to IANA protocol numbers (the API's
// `protocol` filter takes only the number). Names are matched case-insensitively.
var ianaProtocols = map[string]uint8{
	"icmp": 1, "igmp": 2, "ipip": 4, "ipv4": 4, "tcp": 6, "egp": 8, "udp": 17, "ipv6": 41,
	"rsvp": 46, "gre": 47, "esp": 50, "ah": 51, "icmpv6": 58, "ipv6-icmp": 58, "eigrp": 88,
	"ospf": 89, "pim": 103, "vrrp": 112, "l2tp": 115, "sctp": 132, "udplite": 136,
}

// protocolNames is the display name for each number, as the API spells it (TCP, UDP, ICMP).
var protocolNames = map[uint8]string{
	1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 8: "EGP", 17: "UDP", 41: "IPv6", 46: "RSVP",
	47: "GRE", 50: "ESP", 51: "AH", 58: "ICMPv6", 88: "EIGRP", 89: "OSPF", 103: "PIM",
	112: "VRRP", 115: "L2TP", 132: "SCTP", 136: "UDPLite",
}

// ParseProtocol turns "tcp", "TCP" or "6" into 6.
func ParseProtocol(s string) (uint8, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		return uint8(n), true
	}
	n, ok := ianaProtocols[strings.ToLower(s)]
	return n, ok
}

// ProtocolName is the name for an IANA number, or the number itself when it has none.
func ProtocolName(n uint8) string {
	if name, ok := protocolNames[n]; ok {
		return name
	}
	return strconv.Itoa(int(n))
}

// KnownProtocols lists the protocols the editor offers by name, by number.
func KnownProtocols() map[uint8]string { return protocolNames }
