package elastic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Aggs is an object of named aggregation results: the search answer's "aggregations", or a
// bucket, or a single-bucket aggregation (filter, nested), whose other members are its
// sub-aggregations.
type Aggs map[string]json.RawMessage

// ParseAggs reads an aggregations object.
func ParseAggs(raw json.RawMessage) (Aggs, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return Aggs{}, nil
	}
	var a Aggs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, &MalformedError{What: "aggregation", Err: err, Snippet: snippet(raw)}
	}
	return a, nil
}

// Sub returns the named single-bucket sub-aggregation (filter, nested, reverse_nested).
func (a Aggs) Sub(name string) (Aggs, error) {
	raw, ok := a[name]
	if !ok {
		return nil, &MalformedError{What: "aggregation", Err: fmt.Errorf("%q is missing", name)}
	}
	return ParseAggs(raw)
}

// DocCount is the doc_count of a bucket or single-bucket aggregation.
func (a Aggs) DocCount() int64 {
	var n int64
	_ = json.Unmarshal(a["doc_count"], &n)
	return n
}

// Value reads a metric (sum, value_count, max, …) as a whole number. Sums of long fields come
// back as doubles, which hold every whole number below 2^53 exactly.
func (a Aggs) Value(name string) (int64, error) {
	raw, ok := a[name]
	if !ok {
		return 0, &MalformedError{What: "aggregation", Err: fmt.Errorf("metric %q is missing", name)}
	}
	var m struct {
		Value *float64 `json:"value"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return 0, &MalformedError{What: "aggregation", Err: err, Snippet: snippet(raw)}
	}
	if m.Value == nil { // max/min of no documents
		return 0, nil
	}
	return int64(math.Round(*m.Value)), nil
}

// Bucket is one bucket of a multi-bucket aggregation (terms, date_histogram, filters).
type Bucket struct {
	Key      json.RawMessage
	DocCount int64
	Aggs     Aggs // the bucket itself, to read its sub-aggregations
}

// KeyString is the key as text: a string key as is, a number in decimal.
func (b Bucket) KeyString() string {
	var s string
	if json.Unmarshal(b.Key, &s) == nil {
		return s
	}
	return string(b.Key)
}

// KeyInt is a numeric key (date_histogram keys are epoch ms).
func (b Bucket) KeyInt() (int64, error) {
	f, err := strconv.ParseFloat(string(b.Key), 64)
	if err != nil {
		return 0, &MalformedError{What: "bucket key", Err: err, Snippet: snippet(b.Key)}
	}
	return int64(f), nil
}

// Buckets reads the named multi-bucket aggregation: its buckets (an array, or for a keyed
// filters aggregation an object, whose names become the keys) and sum_other_doc_count, the
// documents of the keys a terms aggregation left out.
func (a Aggs) Buckets(name string) ([]Bucket, int64, error) {
	raw, ok := a[name]
	if !ok {
		return nil, 0, &MalformedError{What: "aggregation", Err: fmt.Errorf("%q is missing", name)}
	}
	var m struct {
		Buckets          json.RawMessage `json:"buckets"`
		SumOtherDocCount int64           `json:"sum_other_doc_count"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, 0, &MalformedError{What: "aggregation", Err: err, Snippet: snippet(raw)}
	}
	var out []Bucket
	if bytes.HasPrefix(bytes.TrimSpace(m.Buckets), []byte("{")) {
		var keyed map[string]Aggs
		if err := json.Unmarshal(m.Buckets, &keyed); err != nil {
			return nil, 0, &MalformedError{What: "aggregation", Err: err, Snippet: snippet(raw)}
		}
		for k, b := range keyed {
			key, _ := json.Marshal(k)
			out = append(out, Bucket{Key: key, DocCount: b.DocCount(), Aggs: b})
		}
		return out, m.SumOtherDocCount, nil
	}
	var list []Aggs
	if err := json.Unmarshal(m.Buckets, &list); err != nil {
		return nil, 0, &MalformedError{What: "aggregation", Err: err, Snippet: snippet(raw)}
	}
	out = make([]Bucket, len(list))
	for i, b := range list {
		out[i] = Bucket{Key: b["key"], DocCount: b.DocCount(), Aggs: b}
	}
	return out, m.SumOtherDocCount, nil
}
