package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func doHeaders(h http.Handler, target string, hdr map[string]string) result {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return result{rec.Code, rec.Header(), rec.Body.String()}
}

var (
	tgAuth  = map[string]string{"Authorization": "trustgrid-token " + DefaultTrustgridClientID + ":" + DefaultTrustgridSecret}
	cfwAuth = map[string]string{"X-Auth-Token": DefaultCFWIAMToken}
)

func cfwTarget(kv ...string) string {
	q := []string{"fw_instance_id=" + DefaultCFWFwInstanceID}
	for i := 0; i+1 < len(kv); i += 2 {
		q = append(q, kv[i]+"="+kv[i+1])
	}
	return CFWFlowLogsPath(DefaultCFWProjectID) + "?" + strings.Join(q, "&")
}

// TestFacesShowOneTraffic reads one range through the three APIs: the same number of flows,
// bytes (Trustgrid's sourceBytes + destBytes) and packets (CFW; Trustgrid has none).
func TestFacesShowOneTraffic(t *testing.T) {
	s := newTest(Config{})
	// Minutes [t0-2h, t0-1h): Flows API windows whose end (timestamp) lies in (from, to].
	from := (t0.UnixMilli()/60000 - 120) * 60000
	to := from + 3600_000
	var want agg
	for off := 0; ; {
		page := decode[FlowsResponse](t, get(t, s, fmt.Sprintf("%s?from=%d&to=%d&limit=1000&offset=%d", PathFlows, from+60000, to, off)))
		for _, f := range page.Flows {
			want.bytes += f.Bytes
			want.packets += f.Packets
			want.count++
		}
		off += len(page.Flows)
		if off >= page.Total {
			break
		}
	}
	if want.count == 0 {
		t.Fatal("no traffic")
	}

	var tg agg
	for page := 1; ; page++ {
		r := doHeaders(s, fmt.Sprintf("%s?sTime=%d&eTime=%d&eTimeOp=lt&limit=500&page=%d", PathTrustgridFlowLogs, from/1000, to/1000, page), tgAuth)
		if r.status != 200 {
			t.Fatalf("trustgrid: %d %s", r.status, r.body)
		}
		flows := decode[[]TrustgridFlowLog](t, r.body)
		for _, f := range flows {
			tg.bytes += f.SourceBytes + f.DestBytes
			tg.count++
		}
		if total, _ := strconv.Atoi(r.header.Get("X-Total-Count")); int64(total) != want.count {
			t.Fatalf("x-total-count %d, want %d", total, want.count)
		}
		if len(flows) < 500 {
			break
		}
	}

	var cfw agg
	seen := map[string]bool{}
	cursor := ""
	for {
		r := doHeaders(s, cfwTarget("start_time", strconv.FormatInt(from, 10), "end_time", strconv.FormatInt(to-1, 10), "limit", "1024")+cursor, cfwAuth)
		if r.status != 200 {
			t.Fatalf("cfw: %d %s", r.status, r.body)
		}
		var env map[string]CFWFlowLogsData
		if err := json.Unmarshal([]byte(r.body), &env); err != nil {
			t.Fatal(err)
		}
		d := env["data"]
		if int64(d.Total) != want.count || d.Limit != 1024 {
			t.Fatalf("data.total %d, limit %d; want %d, 1024", d.Total, d.Limit, want.count)
		}
		for _, f := range d.Records {
			if seen[f.LogID] {
				t.Fatalf("log_id %s twice", f.LogID)
			}
			seen[f.LogID] = true
			cfw.bytes += int64(f.Bytes)
			cfw.packets += f.Packets
			cfw.count++
		}
		if len(d.Records) < 1024 {
			break
		}
		last := d.Records[len(d.Records)-1]
		cursor = fmt.Sprintf("&log_id=%s&next_date=%d&offset=%d", last.LogID, last.StartTime, cfw.count)
	}
	if tg.count != want.count || tg.bytes != want.bytes {
		t.Errorf("trustgrid: %d flows, %d bytes; flows api: %d, %d", tg.count, tg.bytes, want.count, want.bytes)
	}
	if cfw != want {
		t.Errorf("cfw: %+v; flows api: %+v", cfw, want)
	}
}

func TestTrustgridEnvelopeAndErrors(t *testing.T) {
	s := newTest(Config{})
	r := doHeaders(s, PathTrustgridFlowLogs+"?limit=3", tgAuth)
	if r.status != 200 || !strings.HasPrefix(r.body, "[{") || r.header.Get("X-Total-Count") == "" {
		t.Fatalf("200: %d %q %v", r.status, r.body[:min(40, len(r.body))], r.header)
	}
	if n := len(decode[[]TrustgridFlowLog](t, r.body)); n != 3 {
		t.Errorf("limit 3: %d flows", n)
	}
	jwt := map[string]string{"Authorization": "Bearer " + DefaultTrustgridJWT}
	if r := doHeaders(s, PathTrustgridFlowLogs, jwt); r.status != 200 {
		t.Errorf("JWT: %d %s", r.status, r.body)
	}
	for name, hdr := range map[string]map[string]string{
		"none":         nil,
		"wrong secret": {"Authorization": "trustgrid-token " + DefaultTrustgridClientID + ":nope"},
		"wrong jwt":    {"Authorization": "Bearer nope"},
		"flows token":  {"Authorization": "Bearer " + tok},
	} {
		if r := doHeaders(s, PathTrustgridFlowLogs, hdr); r.status != 401 || r.body != "{\"message\":\"Unauthorized\"}\n" {
			t.Errorf("%s: %d %q", name, r.status, r.body)
		}
	}
	for q, want := range map[string]string{
		"srcPort=80&srcPortOp=between": "srcPortOp: 'between' is not one of eq, ne, gt, gte, lt, lte",
		"page=0":                       "page: '0' is not a page number",
		"sort=color":                   "sort: 'color' is not <field>",
		"defunct=true&flags=65536":     "defunct: cannot be combined with flags",
		"sTime=yesterday":              "sTime: 'yesterday' is not a Unix timestamp in seconds",
		"protocol=SCTP":                "protocol: 'SCTP' is not one of TCP, UDP, ICMP, UNKNOWN",
		"tcpFlags=0x02":                "tcpFlags: '0x02' is not a comma-separated list of decimal numbers",
	} {
		r := doHeaders(s, PathTrustgridFlowLogs+"?"+q, tgAuth)
		var body map[string]string
		_ = json.Unmarshal([]byte(r.body), &body)
		if r.status != 400 || !strings.HasPrefix(body["message"], want) {
			t.Errorf("%s: %d %s; want 400 %q", q, r.status, r.body, want)
		}
	}
}

func TestTrustgridFilterSemantics(t *testing.T) {
	s := newTest(Config{})
	r := doHeaders(s, PathTrustgridFlowLogs+"?limit=1000&sTime="+strconv.FormatInt(t0.Unix()-900, 10), tgAuth)
	all := decode[[]TrustgridFlowLog](t, r.body)
	if r.header.Get("X-Total-Count") != strconv.Itoa(len(all)) {
		t.Fatalf("the range holds %s flows, more than a page", r.header.Get("X-Total-Count"))
	}
	count := func(keep func(TrustgridFlowLog) bool) int {
		n := 0
		for _, f := range all {
			if keep(f) {
				n++
			}
		}
		return n
	}
	base := PathTrustgridFlowLogs + "?limit=1000&sTime=" + strconv.FormatInt(t0.Unix()-900, 10)
	for q, keep := range map[string]func(TrustgridFlowLog) bool{
		"&defunct=true":                 func(f TrustgridFlowLog) bool { return f.Flags != "0" },
		"&tcpFlags=2":                   func(f TrustgridFlowLog) bool { n, _ := strconv.Atoi(f.TCPFlags); return n&2 != 0 },
		"&tcpFlags=1,4":                 func(f TrustgridFlowLog) bool { n, _ := strconv.Atoi(f.TCPFlags); return n&1 != 0 || n&4 != 0 },
		"&node=" + TrustgridNodes[2].ID: func(f TrustgridFlowLog) bool { return f.NodeID == TrustgridNodes[2].ID },
		"&srcNode=edge-1":               func(f TrustgridFlowLog) bool { return f.SourceNode == "edge-1" },
		"&dstPort=1024&dstPortOp=gte":   func(f TrustgridFlowLog) bool { return f.DestPort >= 1024 },
		"&protocol=icmp":                func(f TrustgridFlowLog) bool { return f.Protocol == "ICMP" },
		"&protocol=UNKNOWN":             func(f TrustgridFlowLog) bool { return f.Protocol == "UNKNOWN" },
		"&eTime=" + strconv.FormatInt(t0.Unix()-450, 10): func(f TrustgridFlowLog) bool {
			st, _ := time.Parse(time.RFC3339, f.StartTime)
			return st.UnixMilli() <= (t0.Unix()-450)*1000
		},
	} {
		r := doHeaders(s, base+q, tgAuth)
		got := decode[[]TrustgridFlowLog](t, r.body)
		if want := count(keep); len(got) != want || want == 0 {
			t.Errorf("%s: %d flows, want %d (non-zero)", q, len(got), want)
		}
	}
	// reverse lists the newest first; sort orders by a field.
	rev := decode[[]TrustgridFlowLog](t, doHeaders(s, base+"&reverse=true", tgAuth).body)
	if rev[0] != all[len(all)-1] {
		t.Errorf("reverse: first %+v, want %+v", rev[0], all[len(all)-1])
	}
	byPort := decode[[]TrustgridFlowLog](t, doHeaders(s, base+"&sort=port:desc", tgAuth).body)
	for i := 1; i < len(byPort); i++ {
		if byPort[i].DestPort > byPort[i-1].DestPort {
			t.Fatalf("sort=port:desc: %d after %d", byPort[i].DestPort, byPort[i-1].DestPort)
		}
	}
}

func TestCFWEnvelopeAndErrors(t *testing.T) {
	s := newTest(Config{})
	st, et := strconv.FormatInt(t0.UnixMilli()-600_000, 10), strconv.FormatInt(t0.UnixMilli(), 10)
	r := doHeaders(s, cfwTarget("start_time", st, "end_time", et, "limit", "2"), cfwAuth)
	var env map[string]map[string]any
	if err := json.Unmarshal([]byte(r.body), &env); r.status != 200 || err != nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if d := env["data"]; d["limit"] != 2.0 || len(d["records"].([]any)) != 2 || d["total"].(float64) < 2 {
		t.Errorf("data: %v", d)
	}
	type errBody struct {
		Code string `json:"error_code"`
		Msg  string `json:"error_msg"`
	}
	check := func(name, target string, hdr map[string]string, status int, code, msg string) {
		t.Helper()
		r := doHeaders(s, target, hdr)
		var b errBody
		if err := json.Unmarshal([]byte(r.body), &b); err != nil || r.status != status || b.Code != code || !strings.HasPrefix(b.Msg, msg) {
			t.Errorf("%s: %d %s; want %d %s %q", name, r.status, r.body, status, code, msg)
		}
	}
	check("no auth", cfwTarget("start_time", st, "end_time", et, "limit", "2"), nil, 401, "APIG.0301", "Incorrect IAM authentication information")
	check("bad token", cfwTarget("start_time", st, "end_time", et, "limit", "2"), map[string]string{"X-Auth-Token": "x"}, 401, "APIG.0301", "Incorrect IAM authentication information: verify token failed")
	check("bad signature", cfwTarget("start_time", st, "end_time", et, "limit", "2"), map[string]string{"Authorization": "SDK-HMAC-SHA256 Access=" + DefaultCFWAccessKey + ", SignedHeaders=x-sdk-date, Signature=00", "X-Sdk-Date": time.Now().UTC().Format(apigDateFormat)}, 401, "APIG.0301", "Incorrect IAM authentication information: verify aksk signature fail")
	check("other project", strings.Replace(cfwTarget("start_time", st, "end_time", et, "limit", "2"), DefaultCFWProjectID, "p2", 1), cfwAuth, 403, "APIG.0302", "The IAM user is not authorized")
	check("unknown path", "/v1/"+DefaultCFWProjectID+"/cfw/logs/other", cfwAuth, 404, "APIG.0101", "The API does not exist")
	check("no fw", CFWFlowLogsPath(DefaultCFWProjectID)+"?start_time="+st+"&end_time="+et+"&limit=2", cfwAuth, 400, "CFW.00100001", "fw_instance_id: is required")
	check("no limit", cfwTarget("start_time", st, "end_time", et), cfwAuth, 400, "CFW.00100001", "limit: is required")
	check("limit 1025", cfwTarget("start_time", st, "end_time", et, "limit", "1025"), cfwAuth, 400, "CFW.00100001", "limit: '1025' is not in the range 1-1024")
	check("limit 0", cfwTarget("start_time", st, "end_time", et, "limit", "0"), cfwAuth, 400, "CFW.00100001", "limit: '0' is not in the range 1-1024")
	check("time range", cfwTarget("start_time", et, "end_time", st, "limit", "2"), cfwAuth, 400, "CFW.00500002", "time range error")
	check("half cursor", cfwTarget("start_time", st, "end_time", et, "limit", "2", "log_id", "abc"), cfwAuth, 400, "CFW.00100001", "log_id: and next_date go together")
	check("direction", cfwTarget("start_time", st, "end_time", et, "limit", "2", "direction", "up"), cfwAuth, 400, "CFW.00100001", "direction: 'up' is not one of in2out, out2in")
}

func TestCFWIgnoreCursorRepeats(t *testing.T) {
	s := newTest(Config{HuaweiCFW: HuaweiCFWConfig{IgnoreCursor: true}})
	st, et := strconv.FormatInt(t0.UnixMilli()-3600_000, 10), strconv.FormatInt(t0.UnixMilli(), 10)
	first := doHeaders(s, cfwTarget("start_time", st, "end_time", et, "limit", "5"), cfwAuth).body
	var env map[string]CFWFlowLogsData
	_ = json.Unmarshal([]byte(first), &env)
	last := env["data"].Records[4]
	next := doHeaders(s, cfwTarget("start_time", st, "end_time", et, "limit", "5", "log_id", last.LogID, "next_date", strconv.FormatInt(last.StartTime, 10), "offset", "5"), cfwAuth).body
	if next != first {
		t.Error("with IgnoreCursor the next page differs from the first")
	}
}

func TestAPIsSelectFaces(t *testing.T) {
	s := newTest(Config{APIs: []string{APITrustgrid}})
	if r := doHeaders(s, PathTrustgridFlowLogs, tgAuth); r.status != 200 {
		t.Errorf("trustgrid: %d", r.status)
	}
	if r := do(s, http.MethodGet, PathFlows, tok); r.status != 404 {
		t.Errorf("flows api not selected but answered %d", r.status)
	}
	if r := doHeaders(s, cfwTarget("start_time", "0", "end_time", "1", "limit", "1"), cfwAuth); r.status != 404 {
		t.Errorf("cfw not selected but answered %d", r.status)
	}
}
