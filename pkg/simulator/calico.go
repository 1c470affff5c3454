package simulator

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Calico-shaped flow logs from the same deterministic traffic as the Flows API.
//
// Each simulator flow becomes the documents Calico's flow log collector would write to
// Elasticsearch (tigera_secure_ee_flows.*) for it. The internal hosts play Kubernetes pods
// (workload endpoints, "wep") in a few namespaces, three of them are nodes (host endpoints,
// "hep"), and the lab hosts with names (nas, printer, gateway, …) are plain private hosts that
// Calico does not manage ("net", name "pvt"). External hosts are "net" with name "pub".
//
// Who reports: every Calico endpoint at either end writes one document, so a flow between two
// Calico endpoints gives two documents (reporter "src" and reporter "dst"), a flow with one
// Calico end gives one, and a flow with none gives none. bytes_in/bytes_out and
// packets_in/packets_out are relative to the reporter: the forward traffic (the simulator
// flow's bytes and packets) is bytes_out on the src report and bytes_in on the dst report, the
// replies the other way round.
//
// Policy: a flow can be denied where it leaves (reporter src; then the destination never sees
// it and writes nothing) or where it arrives (reporter dst; the source's report then says
// allow). A denied flow has no replies. Whether a flow is denied, and whether its addresses are
// masked by flow log aggregation (source_ip and dest_ip null, names "-", ports null; the
// *_name_aggr and namespaces stay), is decided by a hash of the flow, so it is the same for
// both reports and the same on every run.

// CalicoDoc is one flow log document, with the field names and JSON shapes of Calico's
// flow log index (linseed's flowlog mapping).
type CalicoDoc struct {
	ID string `json:"-"` // document _id: the simulator flow id plus the reporter

	StartTime int64  `json:"start_time"` // epoch seconds
	EndTime   int64  `json:"end_time"`   // epoch seconds
	Action    string `json:"action"`     // allow | deny
	Reporter  string `json:"reporter"`   // src | dst
	Host      string `json:"host"`       // the reporting node
	Cluster   string `json:"cluster"`

	SourceIP        *string        `json:"source_ip"` // null when masked (indexed as 0.0.0.0)
	SourceName      string         `json:"source_name"`
	SourceNameAggr  string         `json:"source_name_aggr"`
	SourceNamespace string         `json:"source_namespace"`
	SourcePort      *int           `json:"source_port"` // null when masked or portless
	SourceType      string         `json:"source_type"` // wep | hep | net
	SourceLabels    CalicoLabels   `json:"source_labels"`
	DestIP          *string        `json:"dest_ip"`
	DestName        string         `json:"dest_name"`
	DestNameAggr    string         `json:"dest_name_aggr"`
	DestNamespace   string         `json:"dest_namespace"`
	DestPort        *int           `json:"dest_port"`
	DestType        string         `json:"dest_type"`
	DestLabels      CalicoLabels   `json:"dest_labels"`
	Proto           string         `json:"proto"`
	Policies        CalicoPolicies `json:"policies"`

	BytesIn           int64 `json:"bytes_in"`
	BytesOut          int64 `json:"bytes_out"`
	PacketsIn         int64 `json:"packets_in"`
	PacketsOut        int64 `json:"packets_out"`
	NumFlows          int64 `json:"num_flows"`
	NumFlowsStarted   int64 `json:"num_flows_started"`
	NumFlowsCompleted int64 `json:"num_flows_completed"`
}

// CalicoLabels is the nested labels object ("key=value" strings; "-" when aggregated away).
type CalicoLabels struct {
	Labels []string `json:"labels"`
}

// CalicoPolicies is the nested policies object. Each entry reads
// "<order>|<tier>|<namespace/name or name>|<action>|<rule index>".
type CalicoPolicies struct {
	AllPolicies      []string `json:"all_policies"`
	EnforcedPolicies []string `json:"enforced_policies"`
}

// Calico endpoint types.
const (
	CalicoWorkload = "wep"
	CalicoHost     = "hep"
	CalicoNetwork  = "net"
)

// CalicoConfig chooses the traffic and how it is logged. Zero values get the defaults.
type CalicoConfig struct {
	Seed           int64         // default 1, as the simulator
	FlowsPerMinute int           // default 40, as the simulator
	FlushInterval  time.Duration // Calico's flow log flush interval; default 300 s
	Cluster        string        // default "cluster"
}

// DefaultCalicoFlushInterval is Calico's default flowLogsFlushInterval.
const DefaultCalicoFlushInterval = 300 * time.Second

func (c CalicoConfig) withDefaults() CalicoConfig {
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.FlowsPerMinute <= 0 {
		c.FlowsPerMinute = DefaultFlowsPerMinute
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultCalicoFlushInterval
	}
	if c.Cluster == "" {
		c.Cluster = "cluster"
	}
	return c
}

// endpoint is what Calico knows of a simulator host.
type endpoint struct {
	typ       string // wep | hep | net
	name      string // pod or node name; "pvt" or "pub" for net
	nameAggr  string
	namespace string // "-" when not a pod
	app       string // the workload's app label (pods only)
	labels    []string
	node      string // the node that reports for it (Calico endpoints only)
}

func (e *endpoint) calico() bool { return e.typ != CalicoNetwork }

var calicoApps = []struct{ namespace, app string }{
	{"frontend", "web"}, {"frontend", "gateway"},
	{"checkout", "cart"}, {"checkout", "checkout"},
	{"payments", "payments-api"}, {"payments", "fraud-check"},
	{"catalog", "catalog"}, {"catalog", "search"},
	{"data", "postgres"}, {"data", "redis"},
	{"monitoring", "prometheus"}, {"monitoring", "node-exporter"},
	{"kube-system", "coredns"},
}

var calicoNodes = []string{"k8s-node-1", "k8s-node-2", "k8s-node-3"}

// calicoEndpoints[i] is the endpoint of hosts[i] (built after the host tables, which another
// file's init fills).
var calicoEndpoints = sync.OnceValue(func() []endpoint {
	eps := make([]endpoint, len(hosts))
	for i, h := range hosts {
		e := &eps[i]
		switch {
		case h.exporter < 0:
			*e = endpoint{typ: CalicoNetwork, name: "pub", nameAggr: "pub", namespace: "-"}
		case h.name != nil && len(*h.name) > 10 && (*h.name)[:9] == "k8s-node-":
			node := (*h.name)[:10]
			*e = endpoint{typ: CalicoHost, name: node, nameAggr: node, namespace: "-", node: node,
				labels: []string{"kubernetes.io/hostname=" + node}}
		case h.name != nil:
			*e = endpoint{typ: CalicoNetwork, name: "pvt", nameAggr: "pvt", namespace: "-"}
		default:
			x := mix64(uint64(i) ^ 0xca11c0)
			a := calicoApps[x%uint64(len(calicoApps))]
			rs := fmt.Sprintf("%x", mix64(x)%0xfffff+0x10000)[:5]
			pod := fmt.Sprintf("%s-%s-%x", a.app, rs, mix64(x^1)%0xfffff+0x10000)
			*e = endpoint{typ: CalicoWorkload, name: pod, nameAggr: a.app + "-" + rs + "-*",
				namespace: a.namespace, app: a.app, node: calicoNodes[mix64(x^2)%uint64(len(calicoNodes))],
				labels: []string{"app=" + a.app, "projectcalico.org/namespace=" + a.namespace}}
		}
	}
	return eps
})

// calicoProto is how Calico writes a protocol number.
func calicoProto(n int) string {
	switch n {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "icmp6"
	case 132:
		return "sctp"
	}
	return strconv.Itoa(n)
}

// verdict is where a flow is denied, if anywhere.
type verdict int

const (
	allowed verdict = iota
	deniedAtSrc
	deniedAtDst
)

// calicoVerdict decides a flow's fate from its hash (per-mille thresholds by direction).
func calicoVerdict(h uint64, src, dst *endpoint) verdict {
	p := int(h % 1000)
	switch {
	case src.calico() && dst.calico():
		if p < 50 {
			return deniedAtSrc
		}
		if p < 150 {
			return deniedAtDst // allowed at egress, denied at ingress: the two reports disagree
		}
	case src.calico(): // to a host Calico does not manage, or the internet
		if p < 80 {
			return deniedAtSrc
		}
	default: // from outside into a Calico endpoint
		if p < 200 {
			return deniedAtDst
		}
	}
	return allowed
}

// CalicoDocs calls fn with the documents of the simulator windows whose start lies in
// [from, to), window by window, in the simulator's order. It stops at fn's first error.
func CalicoDocs(cfg CalicoConfig, from, to time.Time, fn func(*CalicoDoc) error) error {
	cfg = cfg.withDefaults()
	g := newGenerator(cfg.Seed, cfg.FlowsPerMinute, nil)
	first := floorDiv(from.UnixMilli()+windowMs-1, windowMs)
	end := floorDiv(to.UnixMilli()+windowMs-1, windowMs)
	flush := int64(cfg.FlushInterval / time.Second)
	for minute := first; minute < end; minute++ {
		w := g.window(minute)
		for i := range w.recs {
			docs := calicoFlowDocs(cfg.Cluster, flush, &w.recs[i])
			for j := range docs {
				if err := fn(&docs[j]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// calicoFlowDocs returns the zero, one or two documents of one simulator flow.
func calicoFlowDocs(cluster string, flush int64, r *record) []CalicoDoc {
	eps := calicoEndpoints()
	src, dst := &eps[r.src], &eps[r.dst]
	if !src.calico() && !dst.calico() {
		return nil
	}
	id, _ := strconv.ParseUint(r.ID, 16, 64)
	h := mix64(id ^ 0xca11c0ca11c0)
	v := calicoVerdict(h, src, dst)
	masked := (h>>20)%1000 < 300 // flow log aggregation hid the addresses of ~30 % of flows

	fwdBytes, fwdPackets := r.Bytes, r.Packets
	var revBytes, revPackets int64
	if v == allowed {
		// Replies: between a tenth and three times the request, at least one packet.
		revBytes = max(40, fwdBytes*int64(10+(h>>40)%290)/100)
		revPackets = max(1, (revBytes+999)/1000)
		revBytes = min(max(revBytes, 40*revPackets), 1500*revPackets)
	}
	start := floorDiv(r.WindowStart/1000, flush) * flush
	base := CalicoDoc{
		StartTime: start, EndTime: start + flush, Cluster: cluster,
		SourceName: src.name, SourceNameAggr: src.nameAggr, SourceNamespace: src.namespace,
		SourceType: src.typ, SourceLabels: CalicoLabels{Labels: labelsOrDash(src.labels)},
		DestName: dst.name, DestNameAggr: dst.nameAggr, DestNamespace: dst.namespace,
		DestType: dst.typ, DestLabels: CalicoLabels{Labels: labelsOrDash(dst.labels)},
		Proto: calicoProto(r.Protocol), NumFlows: 1, NumFlowsStarted: 1, NumFlowsCompleted: 1,
	}
	if masked {
		if src.calico() {
			base.SourceName = "-"
		}
		if dst.calico() {
			base.DestName = "-"
		}
	} else {
		sip, dip := r.SrcIP, r.DstIP
		base.SourceIP, base.DestIP = &sip, &dip
		if r.SrcPort != 0 {
			sp := r.SrcPort
			base.SourcePort = &sp
		}
	}
	if r.DstPort != 0 {
		dp := r.DstPort
		base.DestPort = &dp
	}

	var docs []CalicoDoc
	if src.calico() {
		d := base
		d.ID, d.Reporter, d.Host = r.ID+"-src", "src", src.node
		d.BytesOut, d.PacketsOut, d.BytesIn, d.PacketsIn = fwdBytes, fwdPackets, revBytes, revPackets
		d.Action, d.Policies = "allow", calicoPolicy(h, "allow", src, dst)
		if v == deniedAtSrc {
			d.Action, d.Policies = "deny", calicoPolicy(h, "deny", src, dst)
		}
		docs = append(docs, d)
	}
	if dst.calico() && v != deniedAtSrc {
		d := base
		d.ID, d.Reporter, d.Host = r.ID+"-dst", "dst", dst.node
		d.BytesIn, d.PacketsIn, d.BytesOut, d.PacketsOut = fwdBytes, fwdPackets, revBytes, revPackets
		d.Action, d.Policies = "allow", calicoPolicy(h, "allow", dst, src)
		if v == deniedAtDst {
			d.Action, d.Policies = "deny", calicoPolicy(h, "deny", dst, src)
		}
		docs = append(docs, d)
	}
	return docs
}

func labelsOrDash(l []string) []string {
	if len(l) == 0 {
		return []string{"-"}
	}
	return l
}

// calicoPolicy names the policy that decided a report: local is the reporting endpoint.
func calicoPolicy(h uint64, action string, local, remote *endpoint) CalicoPolicies {
	var p string
	switch {
	case action == "deny" && remote.name == "pub":
		p = "0|security|security.block-internet|deny|0"
	case action == "deny" && (h>>50)%2 == 0:
		p = "1|default|" + local.namespace + "/default.default-deny|deny|-1"
	case action == "deny":
		p = "0|security|security.quarantine|deny|1"
	case local.typ == CalicoHost:
		p = "0|platform|platform.allow-host-traffic|allow|0"
	default:
		p = "1|default|" + local.namespace + "/default.allow-" + local.app + "|allow|0"
	}
	return CalicoPolicies{AllPolicies: []string{p}, EnforcedPolicies: []string{p}}
}

// CalicoIndexName is the daily index a document belongs to, as Calico's older writers name
// them: tigera_secure_ee_flows.<cluster>.<yyyymmdd> of its end_time.
func CalicoIndexName(d *CalicoDoc) string {
	return "tigera_secure_ee_flows." + d.Cluster + "." + time.Unix(d.EndTime, 0).UTC().Format("20060102")
}
