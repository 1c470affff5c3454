// Package huaweicfw is a client for Huawei Cloud Firewall's flow logs (ListFlowLogs,
// GET /v1/{project_id}/cfw/logs/flow) built on the official SDK
// (github.com/huaweicloud/huaweicloud-sdk-go-v3, service cfw/v1), which does the request,
// the AK/SK signing and the region table. It knows HTTP, the API and the SDK, and nothing of
// Grafana.
//
// Decisions where the spec is silent (docs/sources.md has the reasons):
//   - start_time/end_time select records by their start_time, both ends inclusive.
//   - Paging: the first page sends no cursor; each next page sends log_id and next_date of
//     the last record received (its start_time) and offset = records received so far.
//   - data.total counts every record of the query, not the page.
package huaweicfw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	hwcore "github.com/huaweicloud/huaweicloud-sdk-go-v3/core"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/impl"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	cfw "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/cfw/v1"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/cfw/v1/model"
	cfwregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/cfw/v1/region"

	"github.com/flowlens/flows-datasource/pkg/internal/intconv"
	"github.com/flowlens/flows-datasource/pkg/internal/redact"
)

// MaxPageSize is the API's upper bound on limit.
const MaxPageSize = 1024

// DefaultTimeout bounds one request.
const DefaultTimeout = 30 * time.Second

// Credentials authenticate requests: an access key pair (AK/SK request signing, done by the
// SDK) or an IAM user token (X-Auth-Token). The key pair wins when both are set.
type Credentials struct {
	AccessKey string
	SecretKey string
	IAMToken  string
}

// Config says where and how to reach the service.
type Config struct {
	// Endpoint overrides the region's endpoint, e.g. https://cfw.cn-north-4.myhuaweicloud.com
	// or a loopback simulator.
	Endpoint  string
	Region    string // e.g. cn-north-4; its endpoint comes from the SDK's region table
	ProjectID string // the project of the region, part of every path
	Credentials
	Timeout   time.Duration     // per request; DefaultTimeout when 0
	Transport http.RoundTripper // nil: a transport of its own
}

// Client reads flow logs of one project.
type Client struct {
	endpoint  string
	projectID string
	creds     Credentials
	timeout   time.Duration
	transport http.RoundTripper
	secret    *redact.Redactor // what the service echoes is shown without the credentials
}

// New checks cfg and returns a client; it does not contact the service.
func New(cfg Config) (*Client, error) {
	if cfg.ProjectID == "" {
		return nil, errors.New("huaweicfw: project ID is empty: set the project ID of the firewall's region (My Credentials → Projects)")
	}
	if strings.ContainsAny(cfg.ProjectID, "/?#% ") {
		return nil, fmt.Errorf("huaweicfw: project ID %q is not a project ID", cfg.ProjectID)
	}
	endpoint := strings.TrimRight(cfg.Endpoint, "/")
	if endpoint == "" {
		if cfg.Region == "" {
			return nil, errors.New("huaweicfw: set a region (such as cn-north-4) or an endpoint")
		}
		reg, err := cfwregion.SafeValueOf(cfg.Region)
		if err != nil || reg == nil || len(reg.Endpoints) == 0 {
			return nil, fmt.Errorf("huaweicfw: region %q is not a Cloud Firewall region; set the endpoint instead", cfg.Region)
		}
		endpoint = reg.Endpoints[0]
	} else {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
			return nil, fmt.Errorf("huaweicfw: endpoint %q is not a URL such as https://cfw.cn-north-4.myhuaweicloud.com", redactUserinfo(endpoint))
		}
	}
	c := cfg.Credentials
	switch {
	case c.AccessKey != "" && c.SecretKey != "":
	case c.AccessKey != "" || c.SecretKey != "":
		return nil, errors.New("huaweicfw: the access key (AK) and the secret key (SK) go together; one of them is empty")
	case c.IAMToken == "":
		return nil, errors.New("huaweicfw: no credentials: set an access key and secret key, or an IAM token")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &Client{endpoint: endpoint, projectID: cfg.ProjectID, creds: c, timeout: timeout, transport: tr,
		secret: redact.New(c.SecretKey, c.IAMToken, c.AccessKey)}, nil
}

// Endpoint is the URL requests go to.
func (c *Client) Endpoint() string { return c.endpoint }

func redactUserinfo(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = url.User("REDACTED")
		return u.String()
	}
	return s
}

// ctxTransport gives every request of one SDK client the caller's context: the SDK builds
// its requests without one, so cancelling a query would otherwise not stop them.
type ctxTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.next.RoundTrip(r.WithContext(t.ctx))
}

// tokenCredential authenticates with an IAM token: the SDK's credentials all sign with a
// key pair, so this ICredential fills the project ID and adds X-Auth-Token instead.
type tokenCredential struct{ projectID, token string }

func (t tokenCredential) ProcessAuthParams(*impl.DefaultHttpClient, string) (auth.ICredential, error) {
	return t, nil
}

func (t tokenCredential) ProcessAuthRequest(_ *impl.DefaultHttpClient, req *request.DefaultHttpRequest) (*request.DefaultHttpRequest, error) {
	return req.Builder().AddAutoFilledPathParam("project_id", t.projectID).
		AddHeaderParam("X-Project-Id", t.projectID).AddHeaderParam("X-Auth-Token", t.token).Build(), nil
}

// sdk returns an SDK client whose requests carry ctx.
func (c *Client) sdk(ctx context.Context) *cfw.CfwClient {
	hc := config.DefaultHttpConfig().
		WithTimeout(c.timeout).
		WithRetries(0).
		WithUserAgent("flows-datasource").
		WithHttpRoundTripper(ctxTransport{ctx: ctx, next: c.transport})
	var cred auth.ICredential
	if c.creds.AccessKey != "" {
		cred = basic.NewCredentialsBuilder().WithAk(c.creds.AccessKey).WithSk(c.creds.SecretKey).WithProjectId(c.projectID).Build()
	} else {
		cred = tokenCredential{projectID: c.projectID, token: c.creds.IAMToken}
	}
	h := hwcore.NewHcHttpClient(impl.NewDefaultHttpClient(hc)).WithEndpoints([]string{c.endpoint}).WithCredential(cred)
	return cfw.NewCfwClient(h)
}

// Filter holds the record filters of ListFlowLogs; empty fields are not sent.
type Filter struct {
	Direction       string // in2out | out2in
	LogType         string // internet | vpc | nat
	SrcIP           string
	DstIP           string
	SrcPort         *uint16
	DstPort         *uint16
	Protocol        string // TCP, UDP, ICMP, ICMPV6, …
	App             string
	DstHost         string
	SrcRegionName   string
	DstRegionName   string
	SrcProvinceName string
	DstProvinceName string
	SrcCityName     string
	DstCityName     string
}

// Query is one search: the records of firewall FwInstanceID that started in [From, To]
// (millisecond precision, both inclusive), read PageSize at a time (≤ 1024).
type Query struct {
	FwInstanceID        string
	From, To            time.Time
	Filter              Filter
	PageSize            int // MaxPageSize when 0
	EnterpriseProjectID string
}

// Validate reports a query the API cannot take, naming the field.
func (q Query) Validate() error {
	switch {
	case q.FwInstanceID == "":
		return errors.New("huaweicfw: fw_instance_id is empty: set the firewall instance ID")
	case q.From.IsZero() || q.To.IsZero():
		return errors.New("huaweicfw: start_time and end_time are required")
	case q.To.Before(q.From):
		return fmt.Errorf("huaweicfw: the range ends (%s) before it starts (%s)", q.To.UTC().Format(time.RFC3339), q.From.UTC().Format(time.RFC3339))
	case q.PageSize < 0 || q.PageSize > MaxPageSize:
		return fmt.Errorf("huaweicfw: limit %d is outside 1-%d", q.PageSize, MaxPageSize)
	}
	if d := q.Filter.Direction; d != "" && d != "in2out" && d != "out2in" {
		return fmt.Errorf("huaweicfw: direction %q is not in2out or out2in", d)
	}
	if l := q.Filter.LogType; l != "" && l != "internet" && l != "vpc" && l != "nat" {
		return fmt.Errorf("huaweicfw: log_type %q is not internet, vpc or nat", l)
	}
	return nil
}

// FlowLog is one record.
type FlowLog struct {
	LogID                            string
	Start, End                       time.Time
	SrcIP, DstIP                     string
	SrcPort, DstPort                 int32
	Protocol                         string
	Bytes                            float64
	Packets                          int64
	Direction                        string
	App                              string
	DstHost                          string
	SrcRegionName, DstRegionName     string
	SrcProvinceName, DstProvinceName string
	SrcCityName, DstCityName         string
}

// APIError is an error answer of the service: {"error_code","error_msg"}.
type APIError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("Huawei Cloud Firewall answered HTTP %d", e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	switch e.Status {
	case http.StatusUnauthorized:
		msg += " (check the access key and secret key, or the IAM token)"
	case http.StatusForbidden:
		msg += " (check the project ID and the credential's permissions for Cloud Firewall)"
	case http.StatusNotFound:
		msg += " (check the endpoint: it should be the Cloud Firewall endpoint of the region, such as https://cfw.cn-north-4.myhuaweicloud.com)"
	}
	return msg
}

// ErrRepeatedCursor is wrapped by the error of a read whose server answered a next page with
// records it had already sent.
var ErrRepeatedCursor = errors.New("the server repeated a page")

// Result is what Read collected.
type Result struct {
	Flows     []FlowLog
	Total     int  // data.total of the first page
	Truncated bool // maxRows stopped the read before the end
	Requests  []string
}

// RequestString renders a page request as shown to users; credentials travel in headers only.
func (c *Client) RequestString(r *model.ListFlowLogsRequest) string {
	v := url.Values{}
	v.Set("fw_instance_id", r.FwInstanceId)
	v.Set("start_time", strconv.FormatInt(r.StartTime, 10))
	v.Set("end_time", strconv.FormatInt(r.EndTime, 10))
	v.Set("limit", strconv.Itoa(int(r.Limit)))
	opt := func(k string, p *string) {
		if p != nil {
			v.Set(k, *p)
		}
	}
	opt("direction", r.Direction)
	if r.LogType != nil {
		v.Set("log_type", r.LogType.Value())
	}
	opt("src_ip", r.SrcIp)
	opt("dst_ip", r.DstIp)
	if r.SrcPort != nil {
		v.Set("src_port", strconv.Itoa(int(*r.SrcPort)))
	}
	if r.DstPort != nil {
		v.Set("dst_port", strconv.Itoa(int(*r.DstPort)))
	}
	opt("protocol", r.Protocol)
	opt("app", r.App)
	opt("dst_host", r.DstHost)
	opt("src_region_name", r.SrcRegionName)
	opt("dst_region_name", r.DstRegionName)
	opt("src_province_name", r.SrcProvinceName)
	opt("dst_province_name", r.DstProvinceName)
	opt("src_city_name", r.SrcCityName)
	opt("dst_city_name", r.DstCityName)
	opt("log_id", r.LogId)
	if r.NextDate != nil {
		v.Set("next_date", strconv.FormatInt(*r.NextDate, 10))
	}
	if r.Offset != nil {
		v.Set("offset", strconv.Itoa(int(*r.Offset)))
	}
	return "GET /v1/" + c.projectID + "/cfw/logs/flow?" + v.Encode()
}

func (q Query) request() *model.ListFlowLogsRequest {
	limit := q.PageSize
	if limit == 0 {
		limit = MaxPageSize
	}
	r := &model.ListFlowLogsRequest{
		FwInstanceId: q.FwInstanceID,
		StartTime:    q.From.UnixMilli(),
		EndTime:      q.To.UnixMilli(),
		Limit:        int32(limit),
	}
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	port := func(p *uint16) *int32 {
		if p == nil {
			return nil
		}
		n := int32(*p)
		return &n
	}
	f := q.Filter
	r.Direction = str(f.Direction)
	if f.LogType != "" {
		var lt model.ListFlowLogsRequestLogType
		_ = lt.UnmarshalJSON([]byte(strconv.Quote(f.LogType)))
		r.LogType = &lt
	}
	r.SrcIp, r.DstIp = str(f.SrcIP), str(f.DstIP)
	r.SrcPort, r.DstPort = port(f.SrcPort), port(f.DstPort)
	r.Protocol, r.App, r.DstHost = str(f.Protocol), str(f.App), str(f.DstHost)
	r.SrcRegionName, r.DstRegionName = str(f.SrcRegionName), str(f.DstRegionName)
	r.SrcProvinceName, r.DstProvinceName = str(f.SrcProvinceName), str(f.DstProvinceName)
	r.SrcCityName, r.DstCityName = str(f.SrcCityName), str(f.DstCityName)
	r.EnterpriseProjectId = str(q.EnterpriseProjectID)
	return r
}

// Read reads every page of q through the cursor, at most maxRows records (0: no limit). A
// next page whose first record was already received stops the read with ErrRepeatedCursor
// instead of asking for the same page forever.
func (c *Client) Read(ctx context.Context, q Query, maxRows int) (*Result, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	sdk := c.sdk(ctx)
	req := q.request()
	res := &Result{}
	seen := map[string]bool{}
	for page := 1; ; page++ {
		res.Requests = append(res.Requests, c.RequestString(req))
		resp, err := sdk.ListFlowLogs(req)
		if err != nil {
			return nil, c.wrap(ctx, req, err)
		}
		var recs []model.HttpQueryCfwFlowLogsResponseDtoDataRecords
		total := -1
		if resp.Data != nil {
			if resp.Data.Records != nil {
				recs = *resp.Data.Records
			}
			if resp.Data.Total != nil {
				total = int(*resp.Data.Total)
			}
		}
		if page == 1 {
			res.Total = total
		}
		if len(recs) == 0 {
			break
		}
		for i, r := range recs {
			f, err := convert(r)
			if err != nil {
				return nil, fmt.Errorf("huaweicfw: record %d of %s: %v", i+1, c.RequestString(req), err)
			}
			if seen[f.LogID] {
				return nil, fmt.Errorf("huaweicfw: page %d repeats record %s of an earlier page: %w; the server does not follow the log_id/next_date cursor, so the read stops instead of looping", page, f.LogID, ErrRepeatedCursor)
			}
			seen[f.LogID] = true
			if maxRows > 0 && len(res.Flows) >= maxRows {
				res.Truncated = true
				return res, nil
			}
			res.Flows = append(res.Flows, f)
		}
		if len(recs) < int(req.Limit) || (res.Total >= 0 && len(res.Flows) >= res.Total) {
			break
		}
		last := res.Flows[len(res.Flows)-1]
		offset, ok := intconv.Int32(len(res.Flows))
		if !ok {
			return res, fmt.Errorf("ListFlowLogs: %d records read, more than its offset parameter (int32) can page past", len(res.Flows))
		}
		logID, next := last.LogID, last.Start.UnixMilli()
		req.LogId, req.NextDate, req.Offset = &logID, &next, &offset
	}
	return res, nil
}

func convert(r model.HttpQueryCfwFlowLogsResponseDtoDataRecords) (FlowLog, error) {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	if r.LogId == nil || *r.LogId == "" {
		return FlowLog{}, errors.New("no log_id")
	}
	if r.StartTime == nil {
		return FlowLog{}, fmt.Errorf("log_id %s: no start_time", *r.LogId)
	}
	f := FlowLog{
		LogID: *r.LogId, Start: time.UnixMilli(*r.StartTime),
		SrcIP: s(r.SrcIp), DstIP: s(r.DstIp), Protocol: s(r.Protocol), App: s(r.App), DstHost: s(r.DstHost),
		SrcRegionName: s(r.SrcRegionName), DstRegionName: s(r.DstRegionName),
		SrcProvinceName: s(r.SrcProvinceName), DstProvinceName: s(r.DstProvinceName),
		SrcCityName: s(r.SrcCityName), DstCityName: s(r.DstCityName),
	}
	f.End = f.Start
	if r.EndTime != nil {
		f.End = time.UnixMilli(*r.EndTime)
	}
	if r.SrcPort != nil {
		f.SrcPort = *r.SrcPort
	}
	if r.DstPort != nil {
		f.DstPort = *r.DstPort
	}
	if r.Bytes != nil {
		f.Bytes = *r.Bytes
	}
	if r.Packets != nil {
		f.Packets = int64(*r.Packets)
	}
	if r.Direction != nil {
		f.Direction = r.Direction.Value()
	}
	return f, nil
}

// wrap turns an SDK error into one that names the request and the service's own text.
func (c *Client) wrap(ctx context.Context, req *model.ListFlowLogsRequest, err error) error {
	var sr *sdkerr.ServiceResponseError
	if errors.As(err, &sr) {
		msg := strings.Join(strings.Fields(c.secret.Clean(strings.ToValidUTF8(sr.ErrorMessage, "\uFFFD"))), " ")
		if len(msg) > 512 {
			msg = strings.ToValidUTF8(msg[:512], "") + "…"
		}
		return &APIError{Status: sr.StatusCode, Code: c.secret.Clean(sr.ErrorCode), Message: msg, RequestID: sr.RequestId}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("huaweicfw: %s: %w", c.RequestString(req), ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("huaweicfw: %s at %s: %s", c.RequestString(req), c.endpoint, c.secret.Clean(err.Error()))
}
