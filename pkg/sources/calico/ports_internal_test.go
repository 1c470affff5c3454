package calico

import "testing"

// A port outside 0..65535 in a flow log document is no port, not the wrapped value (70000 would
// read as 4464, another service).
func TestPortsOutOfRangeAreNoPort(t *testing.T) {
	p := func(v int64) *int64 { return &v }
	d := doc{SourcePort: p(70000), DestPort: p(-1)}
	if r := d.record("x", nil); r.SrcPort != 0 || r.DstPort != 0 {
		t.Fatalf("ports %d, %d", r.SrcPort, r.DstPort)
	}
	d = doc{SourcePort: p(65535), DestPort: p(443)}
	if r := d.record("x", nil); r.SrcPort != 65535 || r.DstPort != 443 {
		t.Fatalf("ports %d, %d", r.SrcPort, r.DstPort)
	}
}
