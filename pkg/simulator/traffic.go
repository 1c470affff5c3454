package simulator

import "time"

// Traffic gives the records of a seed window by window, straight from the generator, without a
// server: for exact references in tests and benchmarks, which must not depend on the code
// under test (nor on the server's caches).
type Traffic struct{ gen *generator }

// Record is the traffic of one generated record: what references aggregate.
type Record struct {
	WindowStart    int64 // epoch ms; the record's timestamp is WindowStart + 60000
	SrcIP, DstIP   string
	SrcPort        int
	DstPort        int
	Protocol       int
	ProtocolLabel  string // the name /protocols uses, or the number when it has none
	Exporter       string
	Bytes, Packets int64
}

// NewTraffic returns the traffic of a server configured with the same seed, rate and idle
// stretches (zero values get the server's defaults).
func NewTraffic(seed int64, flowsPerMinute int, idle func(windowStart time.Time) bool) *Traffic {
	if seed == 0 {
		seed = DefaultSeed
	}
	if flowsPerMinute <= 0 {
		flowsPerMinute = DefaultFlowsPerMinute
	}
	return &Traffic{gen: newGenerator(seed, flowsPerMinute, idle)}
}

// WindowSize is the length of a window.
const WindowSize = windowMs * time.Millisecond

// Window calls fn with every record of the window starting at windowStart (epoch ms, a
// multiple of 60000). The Record is reused between calls.
func (t *Traffic) Window(windowStart int64, fn func(*Record)) {
	m := floorDiv(windowStart, windowMs)
	var rec Record
	t.gen.each(m, func(_ int, c *core) {
		rec = Record{
			WindowStart:   m * windowMs,
			SrcIP:         hosts[c.src].ip,
			DstIP:         hosts[c.dst].ip,
			SrcPort:       int(c.srcPort),
			DstPort:       int(c.dstPort),
			Protocol:      int(c.proto),
			ProtocolLabel: ProtocolLabel(int(c.proto), protoNames[c.proto]),
			Exporter:      exporters[c.exp].ip,
			Bytes:         c.bytes,
			Packets:       c.packets,
		}
		fn(&rec)
	})
}
