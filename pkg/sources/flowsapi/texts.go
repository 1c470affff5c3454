package flowsapi

import (
	"bytes"
	"encoding/json"
	"sync"
	"unicode/utf8"
)

// Records repeat the same few texts (addresses, host names, protocol names, exporters) from
// record to record. Decoding each as a new string would allocate them per record, to be
// dropped as soon as whoever keeps the records (the flows table) keeps one copy of each: for a
// 100,000-row table, tens of megabytes of garbage while the table is built. A flowWire takes
// these texts from a dictionary instead, without allocating when the text is known.

// flowWire is a Flow as decoded (see Flow).
type flowWire struct {
	ID           string  `json:"id"`
	Timestamp    int64   `json:"timestamp"`
	WindowStart  int64   `json:"window_start"`
	WindowEnd    int64   `json:"window_end"`
	SrcIP        text    `json:"src_ip"`
	DstIP        text    `json:"dst_ip"`
	SrcHostname  optText `json:"src_hostname"`
	DstHostname  optText `json:"dst_hostname"`
	SrcPort      uint16  `json:"src_port"`
	DstPort      uint16  `json:"dst_port"`
	Protocol     uint8   `json:"protocol"`
	ProtocolName optText `json:"protocol_name"`
	Bytes        int64   `json:"bytes"`
	Packets      int64   `json:"packets"`
	TCPFlags     uint8   `json:"tcp_flags"`
	FirstSeenMs  int64   `json:"first_seen_ms"`
	LastSeenMs   int64   `json:"last_seen_ms"`
	ExporterIP   text    `json:"exporter_ip"`
	Version      int     `json:"version"`
}

func (w *flowWire) flow() Flow {
	return Flow{
		ID: w.ID, Timestamp: w.Timestamp, WindowStart: w.WindowStart, WindowEnd: w.WindowEnd,
		SrcIP: string(w.SrcIP), DstIP: string(w.DstIP), SrcHostname: w.SrcHostname.p, DstHostname: w.DstHostname.p,
		SrcPort: w.SrcPort, DstPort: w.DstPort, Protocol: w.Protocol, ProtocolName: w.ProtocolName.p,
		Bytes: w.Bytes, Packets: w.Packets, TCPFlags: w.TCPFlags, FirstSeenMs: w.FirstSeenMs, LastSeenMs: w.LastSeenMs,
		ExporterIP: string(w.ExporterIP), Version: w.Version,
	}
}

// text is a string decoded through the dictionary.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		// As json leaves a string: unchanged.
		return nil
	}
	s, err := dict.text(b)
	*t = text(s)
	return err
}

// optText is a nullable string decoded through the dictionary: one pointer per text.
type optText struct{ p *string }

func (t *optText) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.p = nil
		return nil
	}
	p, err := dict.pointer(b)
	t.p = p
	return err
}

// dictLimit bounds the dictionary; when full, it starts again.
const dictLimit = 1 << 14

// dict holds the texts of the records decoded lately, for all clients: a text is a value, and
// the same text is the same whoever sent it.
var dict = &dictionary{texts: map[string]string{}, pointers: map[string]*string{}}

type dictionary struct {
	mu       sync.Mutex
	texts    map[string]string
	pointers map[string]*string
}

// plain is the text of a JSON string that needs no unescaping, or false.
func plain(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return nil, false
	}
	s := b[1 : len(b)-1]
	return s, bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s)
}

// decode is the string a JSON value holds, as json would decode it.
func decode(b []byte) (string, error) {
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

func (d *dictionary) text(b []byte) (string, error) {
	s, ok := plain(b)
	if !ok {
		return decode(b)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.texts[string(s)]; ok {
		return t, nil
	}
	if len(d.texts) >= dictLimit {
		clear(d.texts)
	}
	t := string(s)
	d.texts[t] = t
	return t, nil
}

func (d *dictionary) pointer(b []byte) (*string, error) {
	s, ok := plain(b)
	if !ok {
		t, err := decode(b)
		return &t, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.pointers[string(s)]; ok {
		return p, nil
	}
	if len(d.pointers) >= dictLimit {
		clear(d.pointers)
	}
	t := string(s)
	d.pointers[t] = &t
	return &t, nil
}
