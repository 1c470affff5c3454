package models

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// protocolsJSON is the plugin's one table of IANA protocol names: the frontend imports the
// same file (src/protocols.ts), so the names the editor offers and checks are the names the
// backend accepts. The API's `protocol` filter takes only the number; display names in frames
// come from the source (`protocol_name`), not from here.
//
//go:embed protocols.json
var protocolsJSON []byte

// Protocol is one entry of the table: its IANA number, the name shown for it, and the names a
// user may type for it (lower case; matched case-insensitively).
type Protocol struct {
	Number uint8    `json:"number"`
	Name   string   `json:"name"`
	Names  []string `json:"names"`
}

// Protocols is the table, in the order the query editor offers it (most common first).
var Protocols []Protocol

var ianaProtocols map[string]uint8

func init() {
	var err error
	if Protocols, ianaProtocols, err = loadProtocols(protocolsJSON); err != nil {
		panic(err) // the file is part of the binary: TestProtocolTable keeps it loadable
	}
}

func loadProtocols(data []byte) ([]Protocol, map[string]uint8, error) {
	var file struct {
		Protocols []Protocol `json:"protocols"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, nil, fmt.Errorf("protocols.json: %w", err)
	}
	byName := map[string]uint8{}
	numbers := map[uint8]bool{}
	for _, p := range file.Protocols {
		if numbers[p.Number] {
			return nil, nil, fmt.Errorf("protocols.json: number %d listed twice", p.Number)
		}
		numbers[p.Number] = true
		if p.Name == "" || len(p.Names) == 0 {
			return nil, nil, fmt.Errorf("protocols.json: number %d needs a name and at least one name to type", p.Number)
		}
		for _, n := range p.Names {
			if n != strings.ToLower(strings.TrimSpace(n)) || n == "" {
				return nil, nil, fmt.Errorf("protocols.json: name %q of %d is not trimmed lower case", n, p.Number)
			}
			if _, dup := byName[n]; dup {
				return nil, nil, fmt.Errorf("protocols.json: name %q listed twice", n)
			}
			if _, err := strconv.ParseUint(n, 10, 8); err == nil {
				return nil, nil, fmt.Errorf("protocols.json: name %q is a number", n)
			}
			byName[n] = p.Number
		}
	}
	return file.Protocols, byName, nil
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
