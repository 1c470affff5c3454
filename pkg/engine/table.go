package engine

import (
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// TableFrame lays out records, one row each, in the order given, with the columns given.
func TableFrame(recs []Record, columns []Column, executed string) *data.Frame {
	b := NewTableBuilder(columns, len(recs))
	b.Add(recs)
	return b.Frame(executed)
}

// TableBuilder lays out the flows table page by page, so that the records of a read need not
// be held while the frame is built (Engine.ReadEach hands them over a page at a time). Each
// page's values go straight into the frame's columns.
//
// Memory: a column holds a value per row, and its fields are sized once when the number of
// rows is known (Grow), so they are never copied while they grow. Texts that repeat from row to
// row (addresses, host names, protocol names, exporters, actions, dimension values) are kept
// once, up to internLimit distinct texts: a 100,000-row table of a few hundred hosts holds a
// few hundred address strings, not 200,000.
type TableBuilder struct {
	fields []*data.Field
	// setters write a record's value of each column at a pointer into the column.
	setters []func(at any, r *Record)
	texts   map[string]string
	names   map[string]*string
}

// internLimit bounds the distinct texts a TableBuilder keeps once; beyond it texts are kept as
// they come (a table of unique addresses gains nothing from sharing them).
const internLimit = 1 << 12

// NewTableBuilder starts a table with the columns given (DefaultColumns when none) and room for
// rows rows (more can be added; Grow makes room once the count is known).
func NewTableBuilder(columns []Column, rows int) *TableBuilder {
	if len(columns) == 0 {
		columns = DefaultColumns
	}
	b := &TableBuilder{texts: map[string]string{}, names: map[string]*string{}}
	for _, c := range columns {
		b.addColumn(c)
	}
	b.Grow(rows)
	return b
}

// Grow makes room for n more rows.
func (b *TableBuilder) Grow(n int) {
	if n <= 0 {
		return
	}
	for _, f := range b.fields {
		f.Grow(n)
	}
}

// Rows is the number of rows added.
func (b *TableBuilder) Rows() int {
	if len(b.fields) == 0 {
		return 0
	}
	return b.fields[0].Len()
}

// Add appends a row per record; it keeps nothing of recs but the values. Values are written in
// place (PointerAt), not appended: appending boxes every value into an interface, garbage that
// a 100,000-row table would make by the tens of megabytes.
func (b *TableBuilder) Add(recs []Record) {
	if len(recs) == 0 {
		return
	}
	start := b.Rows()
	for c, f := range b.fields {
		f.Extend(len(recs))
		set := b.setters[c]
		for i := range recs {
			set(f.PointerAt(start+i), &recs[i])
		}
	}
}

// Frame is the table.
func (b *TableBuilder) Frame(executed string) *data.Frame {
	frame := data.NewFrame("flows", b.fields...)
	frame.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable, ExecutedQueryString: executed}
	return frame
}

// text is s, shared with the rows before that hold the same text.
func (b *TableBuilder) text(s string) string {
	if t, ok := b.texts[s]; ok {
		return t
	}
	if len(b.texts) < internLimit {
		b.texts[s] = s
	}
	return s
}

// name is s (nil for none), one pointer shared by the rows that hold the same text.
func (b *TableBuilder) name(s *string) *string {
	if s == nil {
		return nil
	}
	if p, ok := b.names[*s]; ok {
		return p
	}
	if len(b.names) < internLimit {
		b.names[*s] = s
	}
	return s
}

// addColumn adds a field for the column and how a record fills it.
func (b *TableBuilder) addColumn(c Column) {
	var f *data.Field
	var set func(any, *Record)
	times := func(get func(*Record) int64) {
		f = data.NewField(c.Name, nil, []time.Time{})
		set = func(at any, r *Record) { *at.(*time.Time) = msTime(get(r)) }
	}
	strs := func(get func(*Record) string) {
		f = data.NewField(c.Name, nil, []string{})
		set = func(at any, r *Record) { *at.(*string) = get(r) }
	}
	texts := func(get func(*Record) string) {
		strs(func(r *Record) string { return b.text(get(r)) })
	}
	names := func(get func(*Record) *string) {
		f = data.NewField(c.Name, nil, []*string{})
		set = func(at any, r *Record) { *at.(**string) = b.name(get(r)) }
	}
	u16 := func(get func(*Record) uint16) {
		f = data.NewField(c.Name, nil, []uint16{})
		set = func(at any, r *Record) { *at.(*uint16) = get(r) }
	}
	u8 := func(get func(*Record) uint8) {
		f = data.NewField(c.Name, nil, []uint8{})
		set = func(at any, r *Record) { *at.(*uint8) = get(r) }
	}
	i64 := func(get func(*Record) int64) {
		f = data.NewField(c.Name, nil, []int64{})
		set = func(at any, r *Record) { *at.(*int64) = get(r) }
	}
	dir := func(get func(*Directional) int64) {
		f = data.NewField(c.Name, nil, []*int64{})
		set = func(at any, r *Record) {
			if d := r.Directional; d != nil {
				v := get(d)
				*at.(**int64) = &v
			}
		}
	}
	switch c.Field {
	case ColTime:
		times(func(r *Record) int64 { return r.TimeMs })
	case ColStart:
		times(func(r *Record) int64 { return r.StartMs })
	case ColEnd:
		times(func(r *Record) int64 { return r.EndMs })
	case ColFirstSeen:
		times(func(r *Record) int64 { return r.FirstSeenMs })
	case ColLastSeen:
		times(func(r *Record) int64 { return r.LastSeenMs })
	case ColSrcIP:
		texts(func(r *Record) string { return r.SrcIP })
	case ColDstIP:
		texts(func(r *Record) string { return r.DstIP })
	case ColSrcHostname:
		names(func(r *Record) *string { return r.SrcHostname })
	case ColDstHostname:
		names(func(r *Record) *string { return r.DstHostname })
	case ColSrcPort:
		u16(func(r *Record) uint16 { return r.SrcPort })
	case ColDstPort:
		u16(func(r *Record) uint16 { return r.DstPort })
	case ColProtocol:
		texts(func(r *Record) string { return r.ProtocolLabel() })
	case ColProtocolNumber:
		u8(func(r *Record) uint8 { return r.Protocol })
	case ColBytes:
		i64(func(r *Record) int64 { return r.Bytes })
	case ColPackets:
		i64(func(r *Record) int64 { return r.Packets })
	case ColBytesOut:
		dir(func(d *Directional) int64 { return d.BytesOut })
	case ColBytesIn:
		dir(func(d *Directional) int64 { return d.BytesIn })
	case ColPacketsOut:
		dir(func(d *Directional) int64 { return d.PacketsOut })
	case ColPacketsIn:
		dir(func(d *Directional) int64 { return d.PacketsIn })
	case ColFlows:
		i64(func(r *Record) int64 { return r.FlowCount() })
	case ColAction:
		texts(func(r *Record) string { return r.Action })
	case ColExporter:
		texts(func(r *Record) string { return r.Exporter })
	case ColTCPFlags:
		u8(func(r *Record) uint8 { return r.TCPFlags })
	case ColVersion:
		i64(func(r *Record) int64 { return int64(r.Version) })
	case ColID:
		strs(func(r *Record) string { return r.ID })
	default:
		// A dimension: null where the record does not carry it.
		key := strings.TrimPrefix(c.Field, ColLabelPrefix)
		names(func(r *Record) *string {
			if v, ok := r.Labels[key]; ok {
				return &v
			}
			return nil
		})
	}
	b.fields = append(b.fields, withConfig(f, c.Display, c.Unit))
	b.setters = append(b.setters, set)
}
