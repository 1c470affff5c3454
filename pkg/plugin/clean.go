package plugin

import (
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/internal/redact"
)

// Everything the plugin sends to Grafana passes one last check, whatever source produced it:
// gRPC refuses a string that is not valid UTF-8 (and fails the WHOLE request with it, every
// query included), and no secret of the data source may leave in any form. Sources already
// clean what their servers say; this net catches what a source missed.

// secretsOf are the data source's secrets: every decrypted secure setting (tokens, passwords,
// keys) and the password of its URL.
func secretsOf(s backend.DataSourceInstanceSettings) []string {
	var out []string
	for _, v := range s.DecryptedSecureJSONData {
		out = append(out, v)
	}
	if u, err := url.Parse(strings.TrimSpace(s.URL)); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw)
		}
	}
	slices.Sort(out)
	return out
}

// cleanResponse makes a query's answer safe to send: its error, notices, executed query,
// names, labels and text values.
func cleanResponse(r *redact.Redactor, res backend.DataResponse) backend.DataResponse {
	if res.Error != nil {
		if msg := r.Valid(res.Error.Error()); msg != res.Error.Error() {
			res.Error = errors.New(msg)
		}
	}
	for _, f := range res.Frames {
		cleanFrame(r, f)
	}
	return res
}

func cleanFrame(r *redact.Redactor, f *data.Frame) {
	f.Name = r.Valid(f.Name)
	if f.Meta != nil {
		f.Meta.ExecutedQueryString = r.Valid(f.Meta.ExecutedQueryString)
		for i := range f.Meta.Notices {
			f.Meta.Notices[i].Text = r.Valid(f.Meta.Notices[i].Text)
		}
	}
	for _, field := range f.Fields {
		field.Name = r.Valid(field.Name)
		for k, v := range field.Labels {
			if ck, cv := r.Valid(k), r.Valid(v); ck != k || cv != v {
				delete(field.Labels, k)
				field.Labels[ck] = cv
			}
		}
		if field.Config != nil {
			field.Config.DisplayNameFromDS = r.Valid(field.Config.DisplayNameFromDS)
		}
		switch field.Type() {
		case data.FieldTypeString:
			for i := range field.Len() {
				if s := field.At(i).(string); r.Valid(s) != s {
					field.Set(i, r.Valid(s))
				}
			}
		case data.FieldTypeNullableString:
			for i := range field.Len() {
				if p := field.At(i).(*string); p != nil && r.Valid(*p) != *p {
					c := r.Valid(*p)
					field.Set(i, &c)
				}
			}
		}
	}
}

// cleanHealth makes a health result safe to send.
func cleanHealth(r *redact.Redactor, res *backend.CheckHealthResult) *backend.CheckHealthResult {
	res.Message = r.Valid(res.Message)
	if len(res.JSONDetails) > 0 {
		res.JSONDetails = []byte(r.Valid(string(res.JSONDetails)))
	}
	return res
}

// cleanSender makes resource answers safe to send.
type cleanSender struct {
	r    *redact.Redactor
	next backend.CallResourceResponseSender
}

func (s cleanSender) Send(res *backend.CallResourceResponse) error {
	if res != nil {
		res.Body = []byte(s.r.Valid(string(res.Body)))
	}
	return s.next.Send(res)
}
