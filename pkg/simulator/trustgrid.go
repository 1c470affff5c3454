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
)

// PathTrustgridFlowLogs is the Trustgrid Management API's flow-log search.
const PathTrustgridFlowLogs = "/v2/audit/flow-logs"

// Trustgrid defaults (Config.Trustgrid zero fields).
const (
	DefaultTrustgridClientID = "demo-client"
	DefaultTrustgridSecret   = "demo-secret"
	DefaultTrustgridJWT      = "demo-jwt"
	// DefaultTrustgridLimit is the page size when a request sends no limit.
	DefaultTrustgridLimit = 100
	// DefaultTrustgridMaxLimit caps limit (the spec sets no maximum).
	DefaultTrustgridMaxLimit = 1000
)

// TrustgridConfig configures the Trustgrid face. Zero values get the defaults.
type TrustgridConfig struct {
	ClientID string // accepted in "Authorization: trustgrid-token CLIENT_ID:SECRET"
	Secret   string
	JWT      string // accepted in "Authorization: Bearer <JWT>"
	MaxLimit int    // cap on limit; default 1000
	// IgnorePage makes the server answer every page with the first one, as a server that
	// took `page` for something else would; clients must notice instead of looping.
	IgnorePage bool
}

// TrustgridFlowLog is one element of the bare JSON array /v2/audit/flow-logs answers.
type TrustgridFlowLog struct {
	NodeID      string `json:"nodeId"`
	SourceNode  string `json:"sourceNode,omitempty"`
	SourceIP    string `json:"sourceIP"`
	SourcePort  int    `json:"sourcePort"`
	SourceBytes int64  `json:"sourceBytes"`
	DestNode    string `json:"destNode,omitempty"`
	DestIP      string `json:"destIP"`
	DestPort    int    `json:"destPort"`
	DestBytes   int64  `json:"destBytes"`
	StartTime   string `json:"startTime"`
	EndTime     string `json:"endTime"`
	Protocol    string `json:"protocol"`
	TCPFlags    string `json:"tcpFlags"`
	Flags       string `json:"flags"`
}

// TrustgridNode is a Trustgrid node: the simulator's exporter seen as a Trustgrid node.
type TrustgridNode struct {
	ID, Name string
}

// TrustgridNodes maps each Flows API exporter to the Trustgrid node that logs its flows
// (index = exporter index).
var TrustgridNodes = []TrustgridNode{
	{ID: "6f1c0a52-0d4b-4c2e-9a51-0000000000a1", Name: "edge-1"},
	{ID: "6f1c0a52-0d4b-4c2e-9a51-0000000000a2", Name: "edge-2"},
	{ID: "6f1c0a52-0d4b-4c2e-9a51-0000000000b1", Name: "k8s-gw"},
	{ID: "6f1c0a52-0d4b-4c2e-9a51-0000000000c1", Name: "edge-v6"},
}

// Trustgrid flow flags (the spec's "flags" field).
const (
	TrustgridFlagNoRule = 131072 // no rule match
	trustgridDefunct    = 65536 | 131072 | 262144 | 524288 | 67108864 | 134217728 | 268435456 | 536870912
)

// TrustgridProtocol is the spec's protocol enum for an IANA number: TCP, UDP, ICMP (ICMP
// and ICMPv6) or UNKNOWN.
func TrustgridProtocol(number int) string {
	switch number {
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 1, 58:
		return "ICMP"
	}
	return "UNKNOWN"
}

// trustgridDestShare is the per-mille of a record's bytes reported as destBytes (replies).
func trustgridDestShare(r *record) int64 {
	if r.Protocol != 6 && r.Protocol != 17 {
		return 0
	}
	return int64(hash32(r.ID, 0x7457) % 600)
}

// trustgridDestBytes is the part of a record's bytes reported as destBytes.
func trustgridDestBytes(r *record) int64 { return r.Bytes * trustgridDestShare(r) / 1000 }

// trustgridFlags is the flow-flags value of a record.
func trustgridFlags(r *record) int64 {
	if r.Protocol == 6 && r.TCPFlags == 2 {
		return TrustgridFlagNoRule // a SYN nobody answered: refused by policy
	}
	return 0
}

// nodeName is the name of the node of an internal host; "" for an external one.
func nodeName(h int) string {
	if e := hosts[h].exporter; e >= 0 {
		return TrustgridNodes[e].Name
	}
	return ""
}

// ToTrustgrid maps a record to the Trustgrid flow log that describes the same traffic:
// sourceBytes + destBytes = bytes, start/end = first/last seen, the node = the exporter.
func toTrustgrid(r *record) TrustgridFlowLog {
	dest := trustgridDestBytes(r)
	return TrustgridFlowLog{
		NodeID:      TrustgridNodes[r.exp].ID,
		SourceNode:  nodeName(r.src),
		SourceIP:    r.SrcIP,
		SourcePort:  r.SrcPort,
		SourceBytes: r.Bytes - dest,
		DestNode:    nodeName(r.dst),
		DestIP:      r.DstIP,
		DestPort:    r.DstPort,
		DestBytes:   dest,
		StartTime:   time.UnixMilli(r.FirstSeenMs).UTC().Format("2006-01-02T15:04:05.000Z"),
		EndTime:     time.UnixMilli(r.LastSeenMs).UTC().Format("2006-01-02T15:04:05.000Z"),
		Protocol:    TrustgridProtocol(r.Protocol),
		TCPFlags:    strconv.Itoa(r.TCPFlags),
		Flags:       strconv.FormatInt(trustgridFlags(r), 10),
	}
}

// trustgridAuth reports whether the Authorization header carries an accepted credential.
func (s *Server) trustgridAuth(r *http.Request) bool {
	c := s.cfg.Trustgrid
	scheme, cred, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	cred = strings.TrimSpace(cred)
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	switch {
	case strings.EqualFold(scheme, "trustgrid-token"):
		id, secret, ok := strings.Cut(cred, ":")
		return ok && eq(id, c.ClientID) && eq(secret, c.Secret)
	case strings.EqualFold(scheme, "Bearer"):
		return eq(cred, c.JWT)
	}
	return false
}

func writeTrustgridError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

// tgOp is a comparison operator of the spec (eq, ne, gt, gte, lt, lte).
type tgOp func(a, b int64) bool

var tgOps = map[string]tgOp{
	"eq":  func(a, b int64) bool { return a == b },
	"ne":  func(a, b int64) bool { return a != b },
	"gt":  func(a, b int64) bool { return a > b },
	"gte": func(a, b int64) bool { return a >= b },
	"lt":  func(a, b int64) bool { return a < b },
	"lte": func(a, b int64) bool { return a <= b },
}

func (p *params) tgOp(name, def string) tgOp {
	return tgOps[p.enum(name, def, "eq", "ne", "gt", "gte", "lt", "lte")]
}

// seconds parses a Unix timestamp in seconds (fractions allowed) into ms.
func (p *params) seconds(name string, def int64) int64 {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e13 {
		p.fail(name, "%v is not a Unix timestamp in seconds", v)
		return def
	}
	return int64(math.Round(f * 1000))
}

// decimalList parses a comma-separated list of non-negative decimal numbers.
func (p *params) decimalList(name string) []int64 {
	v, ok := p.raw(name)
	if !ok {
		return nil
	}
	var out []int64
	for _, part := range strings.Split(v, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
		if err != nil || n < 0 {
			p.fail(name, "%v is not a comma-separated list of decimal numbers", v)
			return nil
		}
		out = append(out, n)
	}
	return out
}

func (p *params) boolean(name string) bool {
	v, ok := p.raw(name)
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, "%v is not true or false", v)
	}
	return b
}

// anyContained reports whether value holds every bit of at least one of masks.
func anyContained(value int64, masks []int64) bool {
	for _, m := range masks {
		if value&m == m {
			return true
		}
	}
	return false
}

type tgSortKey struct {
	field string
	desc  bool
}

var tgSortFields = map[string]func(a, b *record) int{
	"startTime":  func(a, b *record) int { return cmp.Compare(a.FirstSeenMs, b.FirstSeenMs) },
	"endTime":    func(a, b *record) int { return cmp.Compare(a.LastSeenMs, b.LastSeenMs) },
	"sourceIP":   func(a, b *record) int { return hosts[a.src].addr.Compare(hosts[b.src].addr) },
	"destIP":     func(a, b *record) int { return hosts[a.dst].addr.Compare(hosts[b.dst].addr) },
	"sourcePort": func(a, b *record) int { return cmp.Compare(a.SrcPort, b.SrcPort) },
	"destPort":   func(a, b *record) int { return cmp.Compare(a.DstPort, b.DstPort) },
	"sourceBytes": func(a, b *record) int {
		return cmp.Compare(a.Bytes-trustgridDestBytes(a), b.Bytes-trustgridDestBytes(b))
	},
	"destBytes": func(a, b *record) int { return cmp.Compare(trustgridDestBytes(a), trustgridDestBytes(b)) },
	"protocol": func(a, b *record) int {
		return strings.Compare(TrustgridProtocol(a.Protocol), TrustgridProtocol(b.Protocol))
	},
}

// Short names the sort parameter accepts as well ("port:desc" in the spec's example).
var tgSortAliases = map[string]string{"time": "startTime", "port": "destPort", "srcPort": "sourcePort", "dstPort": "destPort", "srcIp": "sourceIP", "dstIp": "destIP", "bytes": "sourceBytes"}

func (s *Server) handleTrustgridFlowLogs(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeTrustgridError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if !s.trustgridAuth(r) {
		writeTrustgridError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	now := s.now()
	p := &params{q: r.URL.Query()}
	from := p.seconds("sTime", math.MinInt64)
	eTime := p.seconds("eTime", math.MaxInt64)
	eOpName := p.enum("eTimeOp", "lte", "eq", "ne", "gt", "gte", "lt", "lte")
	eOp := tgOps[eOpName]
	if _, given := p.q["eTimeOp"]; given {
		if _, ok := p.q["eTime"]; !ok {
			p.fail("eTimeOp", "needs eTime", "")
		}
	}
	proto := ""
	if v, ok := p.raw("protocol"); ok {
		proto = strings.ToUpper(v)
		if !slices.Contains([]string{"TCP", "UDP", "ICMP", "UNKNOWN"}, proto) {
			p.fail("protocol", "%v is not one of TCP, UDP, ICMP, UNKNOWN", v)
		}
	}
	src := p.addr("srcIp", hostIndex)
	dst := p.addr("dstIp", hostIndex)
	srcPort := p.int("srcPort", -1, 0, 65535, "a port number (0-65535)")
	srcOp := p.tgOp("srcPortOp", "eq")
	dstPort := p.int("dstPort", -1, 0, 65535, "a port number (0-65535)")
	dstOp := p.tgOp("dstPortOp", "eq")
	srcNode, _ := p.raw("srcNode")
	dstNode, _ := p.raw("dstNode")
	node, _ := p.raw("node")
	tcpFlags := p.decimalList("tcpFlags")
	flags := p.decimalList("flags")
	defunct := p.boolean("defunct")
	if defunct && flags != nil {
		p.fail("defunct", "cannot be combined with flags", "")
	}
	reverse := p.boolean("reverse")
	limit := min(p.int("limit", DefaultTrustgridLimit, 1, math.MaxInt64, "a positive integer"), int64(s.cfg.Trustgrid.MaxLimit))
	page := p.int("page", 1, 1, math.MaxInt32, "a page number (1, 2, …)")
	sortKey := tgSortKey{field: "startTime"}
	if v, ok := p.raw("sort"); ok {
		f, dir, _ := strings.Cut(v, ":")
		if a, ok := tgSortAliases[f]; ok {
			f = a
		}
		if _, ok := tgSortFields[f]; !ok || (dir != "" && dir != "asc" && dir != "desc") {
			p.fail("sort", "%v is not <field>[:asc|desc] with field one of startTime, endTime, sourceIP, destIP, sourcePort, destPort, sourceBytes, destBytes, protocol", v)
		}
		sortKey = tgSortKey{field: f, desc: dir == "desc"}
	}
	if p.err != "" {
		writeTrustgridError(w, http.StatusBadRequest, p.err)
		return
	}
	if s.cfg.Trustgrid.IgnorePage {
		page = 1
	}

	// sTime is a lower bound on the start (inclusive); eTime bounds it with eTimeOp.
	hi := now.UnixMilli()
	_, hasETime := p.q["eTime"]
	if hasETime && (eOpName == "eq" || eOpName == "lt" || eOpName == "lte") {
		hi = min(hi, eTime)
	}
	var rows []*record
	for _, rec := range s.recordsStartingIn(now, from, hi) {
		if hasETime && !eOp(rec.FirstSeenMs, eTime) {
			continue
		}
		if (src == -2 || dst == -2) || (src >= 0 && rec.src != src) || (dst >= 0 && rec.dst != dst) {
			continue
		}
		if srcPort >= 0 && !srcOp(int64(rec.SrcPort), srcPort) || dstPort >= 0 && !dstOp(int64(rec.DstPort), dstPort) {
			continue
		}
		if proto != "" && TrustgridProtocol(rec.Protocol) != proto {
			continue
		}
		if srcNode != "" && nodeName(rec.src) != srcNode || dstNode != "" && nodeName(rec.dst) != dstNode || node != "" && TrustgridNodes[rec.exp].ID != node {
			continue
		}
		if tcpFlags != nil && !anyContained(int64(rec.TCPFlags), tcpFlags) {
			continue
		}
		fv := trustgridFlags(rec)
		if flags != nil && !anyContained(fv, flags) || defunct && fv&trustgridDefunct == 0 {
			continue
		}
		rows = append(rows, rec)
	}
	by := tgSortFields[sortKey.field]
	// rows are by start time, then id already; other orders are sorted here.
	switch {
	case sortKey.field == "startTime" && sortKey.desc == reverse:
	case sortKey.field == "startTime":
		slices.Reverse(rows)
	default:
		slices.SortFunc(rows, func(a, b *record) int {
			c := by(a, b)
			if sortKey.desc {
				c = -c
			}
			if c == 0 {
				c = cmp.Compare(a.FirstSeenMs, b.FirstSeenMs)
			}
			if c == 0 {
				c = strings.Compare(a.ID, b.ID)
			}
			if reverse {
				c = -c
			}
			return c
		})
	}
	out := []TrustgridFlowLog{}
	start := (page - 1) * limit
	for i := start; i < int64(len(rows)) && i < start+limit; i++ {
		out = append(out, toTrustgrid(rows[i]))
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(len(rows)))
	writeJSON(w, http.StatusOK, out)
}
