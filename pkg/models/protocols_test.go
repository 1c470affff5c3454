package models

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The whole table of protocols.json, read here on its own, is what the backend accepts: every
// name (in any case) and every number of the file, and no name the file does not list.
// src/protocols.test.ts checks the same file against the frontend.
func TestProtocolTable(t *testing.T) {
	raw, err := os.ReadFile("protocols.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Protocols []struct {
			Number int      `json:"number"`
			Name   string   `json:"name"`
			Names  []string `json:"names"`
		} `json:"protocols"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Protocols) < 19 {
		t.Fatalf("protocols.json lists %d protocols", len(file.Protocols))
	}
	accepted := 0
	for _, p := range file.Protocols {
		for _, typed := range append([]string{p.Name, strconv.Itoa(p.Number), " " + strings.ToUpper(p.Names[0]) + " "}, p.Names...) {
			q, err := parse(t, `{"queryType":"topTalkers","protocol":`+strconv.Quote(typed)+`}`)
			if err != nil || len(q.Filters.Protocol) != 1 || int(q.Filters.Protocol[0]) != p.Number {
				t.Errorf("protocol %q: %v, %v; want %d", typed, q.Filters.Protocol, err, p.Number)
			}
		}
		accepted += len(p.Names)
	}
	if accepted != len(ianaProtocols) {
		t.Errorf("the backend accepts %d names, protocols.json lists %d", len(ianaProtocols), accepted)
	}
	for _, typed := range []string{"tcpx", "ipv7", "icmp6x", ""} {
		if n, ok := ParseProtocol(typed); ok {
			t.Errorf("%q parsed as %d", typed, n)
		}
	}
}

// A broken table is refused when it loads, naming what is wrong.
func TestProtocolTableIsChecked(t *testing.T) {
	for data, want := range map[string]string{
		`{"protocols":[{"number":6,"name":"TCP","names":["tcp"]},{"number":6,"name":"TCP","names":["tcp2"]}]}`: "number 6 listed twice",
		`{"protocols":[{"number":6,"name":"TCP","names":["tcp"]},{"number":17,"name":"UDP","names":["tcp"]}]}`: `name "tcp" listed twice`,
		`{"protocols":[{"number":6,"name":"TCP","names":["TCP"]}]}`:                                            `name "TCP" of 6 is not trimmed lower case`,
		`{"protocols":[{"number":6,"name":"TCP","names":["17"]}]}`:                                             `name "17" is a number`,
		`{"protocols":[{"number":6,"name":"","names":["tcp"]}]}`:                                               "number 6 needs a name",
		`{"protocols":[{"number":300,"name":"X","names":["x"]}]}`:                                              "protocols.json: json: cannot unmarshal number 300",
	} {
		if _, _, err := loadProtocols([]byte(data)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", data, err, want)
		}
	}
}
