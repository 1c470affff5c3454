package simulator

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// CalicoIndexTemplate is a legacy index template (PUT _template/<name>, understood by
// Elasticsearch 7/8 and OpenSearch 2) for tigera_secure_ee_flows.*: the subset of Calico's
// flow log mapping (linseed's flowlog_mappings.json) that the generated documents fill, with
// its traps kept: dynamic false, end_time/start_time as epoch_second, ip fields with
// null_value 0.0.0.0, and nested labels and policies.
//
//go:embed calico_template.json
var CalicoIndexTemplate []byte

// CalicoTemplateName is the name the loader stores CalicoIndexTemplate under.
const CalicoTemplateName = "tigera_secure_ee_flows"

// CalicoBulkLoader writes documents into Elasticsearch or OpenSearch with _bulk, a batch at a
// time, so loading a million documents holds one batch in memory. It is a test and demo
// loader, not part of the plugin.
type CalicoBulkLoader struct {
	Client    *http.Client // default http.DefaultClient
	BaseURL   string       // e.g. http://127.0.0.1:9200
	BatchSize int          // documents per _bulk request; default 5000

	buf    bytes.Buffer
	n      int
	loaded int
}

// PutTemplate stores CalicoIndexTemplate.
func (l *CalicoBulkLoader) PutTemplate(ctx context.Context) error {
	return l.do(ctx, http.MethodPut, "/_template/"+CalicoTemplateName, "application/json", CalicoIndexTemplate)
}

// Add queues one document (to its daily index) and sends the batch when it is full.
func (l *CalicoBulkLoader) Add(ctx context.Context, d *CalicoDoc) error {
	meta := map[string]map[string]string{"index": {"_index": CalicoIndexName(d), "_id": d.ID}}
	if err := json.NewEncoder(&l.buf).Encode(meta); err != nil {
		return err
	}
	if err := json.NewEncoder(&l.buf).Encode(d); err != nil {
		return err
	}
	l.n++
	size := l.BatchSize
	if size <= 0 {
		size = 5000
	}
	if l.n >= size {
		return l.Flush(ctx)
	}
	return nil
}

// Flush sends the queued documents.
func (l *CalicoBulkLoader) Flush(ctx context.Context) error {
	if l.n == 0 {
		return nil
	}
	body := l.buf.Bytes()
	if err := l.do(ctx, http.MethodPost, "/_bulk", "application/x-ndjson", body); err != nil {
		return err
	}
	l.loaded += l.n
	l.buf.Reset()
	l.n = 0
	return nil
}

// Finish sends what is queued and refreshes the flow indices so that searches see everything.
// It returns the number of documents loaded.
func (l *CalicoBulkLoader) Finish(ctx context.Context) (int, error) {
	if err := l.Flush(ctx); err != nil {
		return l.loaded, err
	}
	return l.loaded, l.do(ctx, http.MethodPost, "/tigera_secure_ee_flows.*/_refresh", "", nil)
}

func (l *CalicoBulkLoader) do(ctx context.Context, method, path, contentType string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(l.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c := l.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %.500s", method, path, resp.Status, answer)
	}
	if path == "/_bulk" {
		var r struct {
			Errors bool `json:"errors"`
			Items  []map[string]struct {
				Error json.RawMessage `json:"error"`
			} `json:"items"`
		}
		if err := json.Unmarshal(answer, &r); err != nil {
			return fmt.Errorf("_bulk answer: %w", err)
		}
		if r.Errors {
			for _, it := range r.Items {
				for _, res := range it {
					if len(res.Error) > 0 {
						return fmt.Errorf("_bulk: a document was refused: %s", res.Error)
					}
				}
			}
			return fmt.Errorf("_bulk: errors reported")
		}
	}
	return nil
}
