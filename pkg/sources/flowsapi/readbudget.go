package flowsapi

import "github.com/flowlens/flows-datasource/pkg/engine"

var _ engine.ReadBudgeter = (*Source)(nil)

// RecordBytes is about what one /flows record takes in JSON (the simulator's take 400 bytes;
// real ones with host names a little more).
const RecordBytes = 500

// ReadBudgetRecords implements engine.ReadBudgeter: the records one query may page through
// within its byte budget (Limits.QueryBytes), which charges every page read, whether the
// engine holds it or aggregates it as it arrives. The engine plans no streamed read beyond it.
func (s *Source) ReadBudgetRecords() int {
	if s.client.limits.QueryBytes <= 0 {
		return 0
	}
	return int(s.client.limits.QueryBytes / RecordBytes)
}
