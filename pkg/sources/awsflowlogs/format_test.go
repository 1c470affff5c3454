package awsflowlogs

import (
	"strings"
	"testing"
	"time"
)

func TestParseDefaultFormatRecord(t *testing.T) {
	f, err := ParseFormat("")
	if err != nil {
		t.Fatal(err)
	}
	// The example of the AWS VPC user guide ("Flow log record examples", accepted traffic).
	r, err := f.Parse("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK")
	if err != nil {
		t.Fatal(err)
	}
	want := Record{Version: 2, AccountID: "123456789010", InterfaceID: "eni-1235b8ca123456789",
		SrcAddr: "172.31.16.139", DstAddr: "172.31.16.21", SrcPort: 20641, DstPort: 22, Protocol: 6,
		Packets: 20, Bytes: 4249, Start: time.Unix(1418530010, 0).UTC(), End: time.Unix(1418530070, 0).UTC(),
		Action: "ACCEPT", LogStatus: "OK"}
	r.present = nil
	if !recordsEqual(r, want) {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
}

func TestParseNoDataRecordLeavesFieldsAbsent(t *testing.T) {
	f, _ := ParseFormat(DefaultLogFormat)
	r, err := f.Parse("2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA")
	if err != nil {
		t.Fatal(err)
	}
	if r.LogStatus != "NODATA" || r.Has("srcaddr") || r.Has("bytes") || r.Has("action") || !r.Has("start") {
		t.Fatalf("NODATA record parsed as %+v (present %v)", r, r.present)
	}
}

func TestParseCustomFormatInItsOrder(t *testing.T) {
	f, err := ParseFormat("${vpc-id} ${srcaddr} ${dstaddr} ${bytes} ${packets} ${protocol} ${action} ${tcp-flags} ${flow-direction} ${start} ${end}")
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Parse("vpc-0abc 2001:db8::1 10.0.0.5 900 3 17 REJECT 2 ingress 100 160")
	if err != nil {
		t.Fatal(err)
	}
	if r.SrcAddr != "2001:db8::1" || r.DstAddr != "10.0.0.5" || r.Bytes != 900 || r.Packets != 3 ||
		r.Protocol != 17 || r.Action != "REJECT" || r.TCPFlags != 2 || r.Other["vpc-id"] != "vpc-0abc" ||
		r.Other["flow-direction"] != "ingress" || r.End.Unix() != 160 {
		t.Fatalf("custom record parsed as %+v", r)
	}
	if f.Has("interface-id") || f.Require("srcaddr", "bytes") != nil {
		t.Fatal("Has/Require disagree with the format")
	}
	if err := f.Require("interface-id"); err == nil || !strings.Contains(err.Error(), "${interface-id}") {
		t.Fatalf("Require of a missing field: %v", err)
	}
}

func TestFormatErrorsNameTheProblem(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{"${srcaddr} dstaddr", `"dstaddr" is not a ${field} token`},
		{"${srcaddr} ${dst-addr}", `unknown field "dst-addr"`},
		{"${bytes} ${bytes}", `field "bytes" appears twice`},
	} {
		_, err := ParseFormat(tc.format)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFormat(%q) = %v, want an error with %q", tc.format, err, tc.want)
		}
	}
	f, _ := ParseFormat("")
	for _, tc := range []struct{ line, want string }{
		{"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT", "has 13 fields, the log format has 14"},
		{"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4x 5 6 ACCEPT OK", `field bytes: "4x" is not a count`},
		{"2 1 eni-1 10.0.0.999 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK", `field srcaddr: "10.0.0.999" is not an IP address`},
		{"2 1 eni-1 10.0.0.1 10.0.0.2 1 70000 6 3 4 5 6 ACCEPT OK", `field dstport: "70000" is not a whole number from 0 to 65535`},
		{"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 DROP OK", `field action: "DROP" is not ACCEPT or REJECT`},
	} {
		_, err := f.Parse(tc.line)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", tc.line, err, tc.want)
		}
	}
}

func recordsEqual(a, b Record) bool {
	if len(a.Other) != len(b.Other) {
		return false
	}
	for k, v := range a.Other {
		if b.Other[k] != v {
			return false
		}
	}
	a.Other, b.Other, a.present, b.present = nil, nil, nil, nil
	return a.Version == b.Version && a.AccountID == b.AccountID && a.InterfaceID == b.InterfaceID &&
		a.SrcAddr == b.SrcAddr && a.DstAddr == b.DstAddr && a.SrcPort == b.SrcPort && a.DstPort == b.DstPort &&
		a.Protocol == b.Protocol && a.Packets == b.Packets && a.Bytes == b.Bytes && a.Start.Equal(b.Start) &&
		a.End.Equal(b.End) && a.Action == b.Action && a.LogStatus == b.LogStatus && a.TCPFlags == b.TCPFlags
}

// A number that does not fit its field is an error naming the field and the value, never a
// wrapped or truncated number (a port 70000 read as 4464, TCP flags 274 as 18).
func TestNumbersBeyondTheirFieldAreErrors(t *testing.T) {
	f, err := ParseFormat("${srcport} ${dstport} ${protocol} ${tcp-flags}")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := f.Parse("65535 0 255 18"); err != nil || r.SrcPort != 65535 || r.Protocol != 255 || r.TCPFlags != 18 {
		t.Fatalf("largest values: %+v, %v", r, err)
	}
	for line, want := range map[string]string{
		"70000 53 6 2": `flow log record field srcport: "70000" is not a whole number from 0 to 65535`,
		"53 -1 6 2":    `flow log record field dstport: "-1" is not a whole number from 0 to 65535`,
		"53 53 256 2":  `flow log record field protocol: "256" is not a whole number from 0 to 255`,
		"53 53 6 274":  `flow log record field tcp-flags: "274" is not a whole number from 0 to 255`,
	} {
		if _, err := f.Parse(line); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", line, err, want)
		}
	}
}
