package engine

// Description is what the editors are told about a source (the capabilities resource): what
// to offer, with the filters the engine composes included.
type Description struct {
	// Source is jsonData.source; Name the system's name.
	Source string `json:"source"`
	Name   string `json:"name"`
	// QueryTypes are the query types the source answers.
	QueryTypes []string `json:"queryTypes"`
	// Filters are offered filters: NativeFilters plus those the engine composes from them.
	Filters       []string `json:"filters"`
	NativeFilters []string `json:"nativeFilters"`
	GroupBys      []string `json:"groupBys"`
	TalkerDims    []string `json:"talkerDims"`
	Metrics       []string `json:"metrics"`
	Variables     []string `json:"variables"`
	SortFields    []string `json:"sortFields"`
	// Dimensions are the source's own (labels), with what they can be used for.
	Dimensions []Dimension `json:"dimensions"`
	// Aggregations are what the source's server aggregates (Agg*); the rest is computed by
	// the engine from records.
	Aggregations   []string `json:"aggregations"`
	WindowSeconds  int      `json:"windowSeconds"`
	MaxTopN        int      `json:"maxTopN"`
	MaxRowsPerRead int      `json:"maxRowsPerRead"`
}

// Describe says what the engine offers for its source.
func (e *Engine) Describe(sourceType string) Description {
	c := e.caps
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	d := Description{
		Source: sourceType, Name: e.src.Name(),
		QueryTypes: nonNil(c.QueryTypes), Filters: nonNil(e.ComposedFilters()), NativeFilters: nonNil(c.Filters),
		GroupBys: nonNil(c.GroupBys), TalkerDims: nonNil(c.TalkerDims), Metrics: e.Metrics(), Variables: nonNil(c.Variables),
		SortFields: nonNil(c.SortFields), Dimensions: c.Dimensions, Aggregations: []string{},
		WindowSeconds: int(c.WindowSize.Seconds()), MaxTopN: c.MaxTopN, MaxRowsPerRead: c.MaxRowsPerRead,
	}
	if d.Dimensions == nil {
		d.Dimensions = []Dimension{}
	}
	for _, a := range []struct {
		name string
		ok   bool
	}{
		{AggTopTalkers, is[TalkersAggregator](e.src)}, {AggProtocols, is[ProtocolsAggregator](e.src)},
		{AggSeries, is[SeriesAggregator](e.src)}, {AggValues, is[ValueLister](e.src)},
		{AggLookback, is[LookbackAggregator](e.src)}, {AggCount, is[Counter](e.src)},
	} {
		if a.ok {
			d.Aggregations = append(d.Aggregations, a.name)
		}
	}
	return d
}

func is[T any](v any) bool {
	_, ok := v.(T)
	return ok
}
