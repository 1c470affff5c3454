package engine

import "strconv"

// Record is one flow record in the form every source maps its own to. Times are epoch
// milliseconds (a record is small: a few hundred thousand of them are held at once). Zero
// values mean "not known" unless a field says otherwise.
type Record struct {
	// ID identifies the record within its source; the engine de-duplicates merged reads by it.
	ID string
	// TimeMs is the instant the source selects and sorts records by (the Flows API's
	// timestamp, the end of its window).
	TimeMs int64
	// StartMs and EndMs are the span the record covers: the aggregation window for windowed
	// sources, the flow's start and end otherwise. Series are bucketed by StartMs.
	StartMs, EndMs int64
	// FirstSeenMs and LastSeenMs are the first and last packet the exporter saw, when known.
	FirstSeenMs, LastSeenMs int64

	SrcIP, DstIP string
	// SrcHostname and DstHostname are names the source gives for the addresses; nil if none.
	SrcHostname, DstHostname *string
	SrcPort, DstPort         uint16
	// Protocol is the IANA protocol number; ProtocolName the source's name for it ("TCP"),
	// empty when it gives none.
	Protocol     uint8
	ProtocolName string

	// Bytes and Packets are the record's totals, both directions together.
	Bytes, Packets int64
	// Directional splits the totals by direction where the source knows it; nil otherwise.
	Directional *Directional
	// Flows is how many flows the record stands for (an aggregated record); 0 means one.
	Flows int64

	// Action is the verdict where the source has one, normalised to "allow" or "deny";
	// the source's own word goes to Labels when it says more.
	Action string
	// Exporter names what observed the flow: the exporter address, node, firewall instance.
	Exporter string
	TCPFlags uint8
	// Version is the export format's version (NetFlow 9, VPC flow log v2, …); 0 if unknown.
	Version int

	// Labels holds source-specific dimensions by the keys the source declares in
	// Capabilities.Dimensions (Calico namespace, Trustgrid node, CFW app, AWS interface).
	Labels map[string]string
}

// Directional is a record's traffic split by direction: Out from the source address to the
// destination, In the answer.
type Directional struct {
	BytesOut, BytesIn     int64
	PacketsOut, PacketsIn int64
}

// FlowCount is the number of flows the record stands for.
func (r *Record) FlowCount() int64 {
	if r.Flows > 0 {
		return r.Flows
	}
	return 1
}

// ProtocolLabel is how a record's protocol is named: the source's name, else the number.
func (r *Record) ProtocolLabel() string {
	if r.ProtocolName != "" {
		return r.ProtocolName
	}
	return strconv.Itoa(int(r.Protocol))
}

// PairSeparator joins the two addresses of a pair key ("10.0.0.5 → 1.1.1.1").
const PairSeparator = " → "

// Talker is one row of a top-talkers answer. Key is an address, or for pairs the two joined by
// PairSeparator.
type Talker struct {
	Key     string
	Bytes   int64
	Packets int64
	Flows   int64
}

// ProtocolRow is one row of a protocols answer: the protocol's name (or number as text).
type ProtocolRow struct {
	Protocol string
	Bytes    int64
	Packets  int64
	Flows    int64
}
