package models

import (
	"strconv"
	"strings"
)

// ianaProtocols maps the protocol names users type to IANA protocol numbers (the API's
// `protocol` filter takes only the number). Names are matched case-insensitively. Display
// names come from the API (`protocol_name`), not from here.
var ianaProtocols = map[string]uint8{
	"icmp": 1, "igmp": 2, "ipip": 4, "ipv4": 4, "tcp": 6, "egp": 8, "udp": 17, "ipv6": 41,
	"rsvp": 46, "gre": 47, "esp": 50, "ah": 51, "icmpv6": 58, "ipv6-icmp": 58, "eigrp": 88,
	"ospf": 89, "pim": 103, "vrrp": 112, "l2tp": 115, "sctp": 132, "udplite": 136,
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
