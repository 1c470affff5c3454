package simulator

import "time"

// WindowFlows returns the records of the 60 s window that contains t, exactly as the Flows API
// serves them once published, ordered by id. Tests of other flow-log systems feed the same
// traffic into those systems (e.g. AWS VPC flow log records into CloudWatch Logs) so that
// every source answers from one deterministic data set.
func (s *Server) WindowFlows(t time.Time) []Flow {
	w := s.gen.window(floorDiv(t.UnixMilli(), windowMs))
	out := make([]Flow, len(w.recs))
	for i := range w.recs {
		out[i] = w.recs[i].Flow
	}
	return out
}
