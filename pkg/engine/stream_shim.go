package engine

import (
	"context"
	"time"
)

// TEMPORARY: the stream branch adds PageReader (source.go) and ReadEach (read.go); this file
// stands in for them until it lands on main and is deleted in that merge.

// PageReader reads a range page by page without holding it.
type PageReader interface {
	ReadPages(ctx context.Context, r ReadRequest, each func([]Record) error) (*ReadResult, error)
}

// ReadEach is Read handed over page by page (this stand-in holds the records).
func (e *Engine) ReadEach(ctx context.Context, from, to time.Time, f Filters, sortBy, order string, maxRows int, each func([]Record) error) (*RecordSet, error) {
	set, err := e.Read(ctx, from, to, f, sortBy, order, maxRows)
	if err != nil {
		return nil, err
	}
	recs := set.Records
	set.Records = nil
	for len(recs) > 0 {
		n := min(len(recs), max(e.pageSize, 1))
		if err := each(recs[:n]); err != nil {
			return nil, err
		}
		recs = recs[n:]
	}
	return set, nil
}
