package simulator

import (
	"cmp"
	"crypto/subtle"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flows-datasource/pkg/internal/intconv"
)

// Huawei Cloud Firewall defaults (Config.HuaweiCFW zero fields).
const (
	DefaultCFWProjectID    = "demo-project"
	DefaultCFWFwInstanceID = "demo-fw"
	DefaultCFWAccessKey    = "demo-ak"
	DefaultCFWSecretKey    = "demo-sk"
	DefaultCFWIAMToken     = "demo-iam-token"
	// CFWMaxLimit is the spec's upper bound on limit.
	CFWMaxLimit = 1024
)

// HuaweiCFWConfig configures the Huawei Cloud Firewall face. Zero values get the defaults.
type HuaweiCFWConfig struct {
	ProjectID    string // the only project_id the path accepts
	FwInstanceID string // the only firewall instance; it sees all traffic
	AccessKey    string // AK/SK pair whose signatures are accepted
	SecretKey    string
	IAMToken     string // accepted in X-Auth-Token
	// SignClock is the wall clock X-Sdk-Date is checked against (the traffic clock Now is
	// often fixed in tests); default time.Now.
	SignClock func() time.Time
	// IgnoreCursor makes the server answer every page with the first one, as a server
	// ignoring log_id/next_date/offset would; clients must notice instead of looping.
	IgnoreCursor bool
}

// CFWPathSuffix ends the flow-log path: /v1/{project_id}/cfw/logs/flow.
const CFWPathSuffix = "/cfw/logs/flow"

// CFWFlowLogsPath is the flow-log path for a project.
func CFWFlowLogsPath(projectID string) string { return "/v1/" + projectID + CFWPathSuffix }

// CFWFlowLog is one record of ListFlowLogs.
type CFWFlowLog struct {
	Bytes           float64 `json:"bytes"`
	Direction       string  `json:"direction"`
	LogType         string  `json:"-"` // a filter only: records do not carry it
	Packets         int64   `json:"packets"`
	StartTime       int64   `json:"start_time"`
	EndTime         int64   `json:"end_time"`
	LogID           string  `json:"log_id"`
	SrcIP           string  `json:"src_ip"`
	SrcPort         int     `json:"src_port"`
	DstIP           string  `json:"dst_ip"`
	DstPort         int     `json:"dst_port"`
	Protocol        string  `json:"protocol"`
	App             string  `json:"app"`
	DstHost         string  `json:"dst_host,omitempty"`
	SrcRegionID     string  `json:"src_region_id,omitempty"`
	SrcRegionName   string  `json:"src_region_name,omitempty"`
	SrcProvinceID   string  `json:"src_province_id,omitempty"`
	SrcProvinceName string  `json:"src_province_name,omitempty"`
	SrcCityID       string  `json:"src_city_id,omitempty"`
	SrcCityName     string  `json:"src_city_name,omitempty"`
	DstRegionID     string  `json:"dst_region_id,omitempty"`
	DstRegionName   string  `json:"dst_region_name,omitempty"`
	DstProvinceID   string  `json:"dst_province_id,omitempty"`
	DstProvinceName string  `json:"dst_province_name,omitempty"`
	DstCityID       string  `json:"dst_city_id,omitempty"`
	DstCityName     string  `json:"dst_city_name,omitempty"`
}

// CFWFlowLogsData is the "data" object of a ListFlowLogs answer.
type CFWFlowLogsData struct {
	Total   int          `json:"total"`
	Limit   int          `json:"limit"`
	Records []CFWFlowLog `json:"records"`
}

// CFWProtocol is the protocol text of a CFW record for an IANA number: TCP, UDP, ICMP,
// ICMPV6, or the decimal number for the others.
func CFWProtocol(number int) string {
	switch number {
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 1:
		return "ICMP"
	case 58:
		return "ICMPV6"
	}
	return strconv.Itoa(number)
}

// cfwApps names the application of a destination port (TCP and UDP), as CFW's app field does.
var cfwApps = map[int]string{
	22: "SSH", 25: "SMTP", 53: "DNS", 80: "HTTP", 443: "HTTPS", 587: "SMTP", 993: "IMAP4",
	3306: "MYSQL", 3389: "RDP", 8080: "HTTP", 8443: "HTTPS",
}

// cfwRegion is a geo location of an external address.
type cfwRegion struct{ regionID, region, provinceID, province, cityID, city string }

var cfwRegions = []cfwRegion{
	{"CN", "China", "440000", "Guangdong", "440300", "Shenzhen"},
	{"CN", "China", "110000", "Beijing", "110100", "Beijing"},
	{"SG", "Singapore", "", "", "", ""},
	{"DE", "Germany", "", "", "", ""},
	{"US", "United States", "", "", "", ""},
	{"JP", "Japan", "", "", "", ""},
}

func cfwRegionOf(h int) (cfwRegion, bool) {
	if hosts[h].exporter >= 0 {
		return cfwRegion{}, false // internal addresses have no geo location
	}
	return cfwRegions[mix64(intconv.Bits(int64(h))*0x51f15e)%uint64(len(cfwRegions))], true
}

// toCFW maps a record to the CFW flow log of the same traffic.
func toCFW(r *record) CFWFlowLog {
	fl := CFWFlowLog{
		Bytes:     float64(r.Bytes),
		Direction: "in2out",
		LogType:   "internet",
		Packets:   r.Packets,
		StartTime: r.FirstSeenMs,
		EndTime:   r.LastSeenMs,
		LogID:     r.ID,
		SrcIP:     r.SrcIP,
		SrcPort:   r.SrcPort,
		DstIP:     r.DstIP,
		DstPort:   r.DstPort,
		Protocol:  CFWProtocol(r.Protocol),
		App:       "ANY",
	}
	srcIn, dstIn := hosts[r.src].exporter >= 0, hosts[r.dst].exporter >= 0
	switch {
	case srcIn && dstIn:
		fl.LogType = "vpc" // east-west
	case !srcIn:
		fl.Direction = "out2in"
	}
	if a, ok := cfwApps[r.DstPort]; ok && (r.Protocol == 6 || r.Protocol == 17) {
		fl.App = a
	}
	if r.DstHostname != nil {
		fl.DstHost = *r.DstHostname
	}
	if g, ok := cfwRegionOf(r.src); ok {
		fl.SrcRegionID, fl.SrcRegionName, fl.SrcProvinceID, fl.SrcProvinceName, fl.SrcCityID, fl.SrcCityName = g.regionID, g.region, g.provinceID, g.province, g.cityID, g.city
	}
	if g, ok := cfwRegionOf(r.dst); ok {
		fl.DstRegionID, fl.DstRegionName, fl.DstProvinceID, fl.DstProvinceName, fl.DstCityID, fl.DstCityName = g.regionID, g.region, g.provinceID, g.province, g.cityID, g.city
	}
	return fl
}

func writeCFWError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error_code": code, "error_msg": msg})
}

// Error codes. APIG.* are the API gateway's (authentication, routing); CFW.00500002 is the
// documented "time range error"; CFW.00100001 is the simulator's code for any other
// parameter error.
const (
	cfwCodeAuth       = "APIG.0301"
	cfwCodeForbidden  = "APIG.0302"
	cfwCodeNoAPI      = "APIG.0101"
	cfwCodeParam      = "CFW.00100001"
	cfwCodeTimeRange  = "CFW.00500002"
	cfwCodeNoInstance = "CFW.00200005"
)

// cfwAuth checks X-Auth-Token or the AK/SK signature; it returns the gateway's message on
// rejection ("" = accepted).
func (s *Server) cfwAuth(r *http.Request) string {
	c := s.cfg.HuaweiCFW
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(c.IAMToken)) != 1 {
			return "Incorrect IAM authentication information: verify token failed"
		}
		return ""
	}
	if r.Header.Get("Authorization") == "" {
		return "Incorrect IAM authentication information: Authorization or X-Auth-Token not found"
	}
	if err := verifyAPIGSignature(r, map[string]string{c.AccessKey: c.SecretKey}, c.SignClock()); err != nil {
		return "Incorrect IAM authentication information: " + err.Error()
	}
	return ""
}

func (s *Server) handleCFW(w http.ResponseWriter, r *http.Request) {
	project, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	project, ok2 := strings.CutSuffix(project, CFWPathSuffix)
	if !ok || !ok2 || project == "" || strings.Contains(project, "/") || r.Method != http.MethodGet {
		writeCFWError(w, http.StatusNotFound, cfwCodeNoAPI, "The API does not exist or has not been published in the environment")
		return
	}
	if msg := s.cfwAuth(r); msg != "" {
		writeCFWError(w, http.StatusUnauthorized, cfwCodeAuth, msg)
		return
	}
	if hp := r.Header.Get("X-Project-Id"); project != s.cfg.HuaweiCFW.ProjectID || (hp != "" && hp != project) {
		writeCFWError(w, http.StatusForbidden, cfwCodeForbidden, "The IAM user is not authorized to access the API: the credential is not valid for project "+project)
		return
	}
	s.handleCFWFlowLogs(w, r)
}

func (s *Server) handleCFWFlowLogs(w http.ResponseWriter, r *http.Request) {
	c := s.cfg.HuaweiCFW
	p := &params{q: r.URL.Query()}
	required := func(name string) {
		if _, ok := p.q[name]; !ok {
			p.fail(name, "is required", "")
		}
	}
	for _, n := range []string{"fw_instance_id", "start_time", "end_time", "limit"} {
		required(n)
	}
	fw, _ := p.raw("fw_instance_id")
	start := p.int("start_time", 0, 0, math.MaxInt64, "a timestamp in milliseconds")
	end := p.int("end_time", 0, 0, math.MaxInt64, "a timestamp in milliseconds")
	limit := p.int("limit", 0, 1, CFWMaxLimit, "in the range 1-1024")
	direction := p.enum("direction", "", "in2out", "out2in")
	logType := p.enum("log_type", "", "internet", "vpc", "nat", "vgw")
	src := p.addr("src_ip", hostIndex)
	dst := p.addr("dst_ip", hostIndex)
	srcPort := p.int("src_port", -1, 0, 65535, "a port number (0-65535)")
	dstPort := p.int("dst_port", -1, 0, 65535, "a port number (0-65535)")
	proto := -1
	if v, ok := p.raw("protocol"); ok {
		if proto = protoNumber(v); proto < 0 {
			p.fail("protocol", "%v is not a protocol (TCP, UDP, ICMP, ICMPV6, … or an IANA number)", v)
		}
	}
	texts := map[string]string{}
	for _, n := range []string{"app", "dst_host", "src_region_name", "dst_region_name", "src_province_name", "dst_province_name", "src_city_name", "dst_city_name"} {
		if v, ok := p.raw(n); ok {
			texts[n] = v
		}
	}
	_, _ = p.raw("enterprise_project_id") // accepted; one enterprise project here
	logID, hasLogID := p.raw("log_id")
	nextDate := p.int("next_date", -1, 0, math.MaxInt64, "a timestamp in milliseconds")
	offset := p.int("offset", 0, 0, math.MaxInt32, "a number no less than 0")
	if hasLogID != (nextDate >= 0) && p.err == "" {
		p.fail("log_id", "and next_date go together (both empty on the first page)", "")
	}
	if p.err != "" {
		writeCFWError(w, http.StatusBadRequest, cfwCodeParam, p.err)
		return
	}
	if end < start {
		writeCFWError(w, http.StatusBadRequest, cfwCodeTimeRange, "time range error")
		return
	}
	if fw != c.FwInstanceID {
		writeCFWError(w, http.StatusBadRequest, cfwCodeNoInstance, "fw_instance_id: firewall instance "+fw+" does not exist")
		return
	}
	if c.IgnoreCursor {
		hasLogID, offset = false, 0
	}

	now := s.now()
	var rows []*record
	if src != -2 && dst != -2 {
		for _, rec := range s.recordsStartingIn(now, start, end) {
			if src >= 0 && rec.src != src || dst >= 0 && rec.dst != dst ||
				srcPort >= 0 && int64(rec.SrcPort) != srcPort || dstPort >= 0 && int64(rec.DstPort) != dstPort ||
				proto >= 0 && rec.Protocol != proto {
				continue
			}
			if direction != "" || logType != "" || len(texts) > 0 {
				fl := toCFW(rec)
				if direction != "" && fl.Direction != direction || logType != "" && fl.LogType != logType || !cfwTextsMatch(&fl, texts) {
					continue
				}
			}
			rows = append(rows, rec)
		}
	}
	// Newest first; the cursor (next_date, log_id) is the last record of the previous page.
	newestFirst := func(a *record, startMs int64, id string) int {
		if c := cmp.Compare(startMs, a.FirstSeenMs); c != 0 {
			return c
		}
		return strings.Compare(id, a.ID)
	}
	slices.Reverse(rows) // they come oldest first
	total := len(rows)
	if hasLogID {
		i, found := slices.BinarySearchFunc(rows, nextDate, func(a *record, _ int64) int { return newestFirst(a, nextDate, logID) })
		if found {
			i++
		}
		rows = rows[i:]
	} else {
		rows = rows[min(int(offset), len(rows)):]
	}
	page := []CFWFlowLog{}
	for _, rec := range rows[:min(int(limit), len(rows))] {
		page = append(page, toCFW(rec))
	}
	writeJSON(w, http.StatusOK, map[string]CFWFlowLogsData{"data": {Total: total, Limit: int(limit), Records: page}})
}

// protoNumber is the IANA number of a protocol name or number text; -1 if unknown.
func protoNumber(s string) int {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 255 {
		return n
	}
	for n, name := range protoNames {
		if name != nil && strings.EqualFold(*name, s) {
			return n
		}
	}
	return -1
}

func cfwTextsMatch(fl *CFWFlowLog, texts map[string]string) bool {
	for k, v := range texts {
		var got string
		switch k {
		case "app":
			got = fl.App
		case "dst_host":
			got = fl.DstHost
		case "src_region_name":
			got = fl.SrcRegionName
		case "dst_region_name":
			got = fl.DstRegionName
		case "src_province_name":
			got = fl.SrcProvinceName
		case "dst_province_name":
			got = fl.DstProvinceName
		case "src_city_name":
			got = fl.SrcCityName
		case "dst_city_name":
			got = fl.DstCityName
		}
		if !strings.EqualFold(got, v) {
			return false
		}
	}
	return true
}
