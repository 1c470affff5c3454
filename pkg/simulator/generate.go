package simulator

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flowlens/flows-datasource/pkg/internal/intconv"
)

// Flow is one aggregated flow record, exactly the fields of the Flows API.
type Flow struct {
	ID           string  `json:"id"`
	Timestamp    int64   `json:"timestamp"`
	WindowStart  int64   `json:"window_start"`
	WindowEnd    int64   `json:"window_end"`
	SrcIP        string  `json:"src_ip"`
	DstIP        string  `json:"dst_ip"`
	SrcHostname  *string `json:"src_hostname"`
	DstHostname  *string `json:"dst_hostname"`
	SrcPort      int     `json:"src_port"`
	DstPort      int     `json:"dst_port"`
	Protocol     int     `json:"protocol"`
	ProtocolName *string `json:"protocol_name"`
	Bytes        int64   `json:"bytes"`
	Packets      int64   `json:"packets"`
	TCPFlags     int     `json:"tcp_flags"`
	FirstSeenMs  int64   `json:"first_seen_ms"`
	LastSeenMs   int64   `json:"last_seen_ms"`
	ExporterIP   string  `json:"exporter_ip"`
	Version      int     `json:"version"`
}

const windowMs = 60_000

// maxPerWindow bounds the records of one window (the id packs the index in 20 bits).
const maxPerWindow = 1<<20 - 1

// ---------------------------------------------------------------------------
// Deterministic integer-only random numbers (splitmix64).

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// intn returns a number in [0, n); n > 0.
func (r *rng) intn(n int) int {
	if n <= 0 {
		panic(fmt.Sprintf("simulator: intn(%d)", n))
	}
	v := r.next() % uint64(n)
	if v > math.MaxInt { // never: v < n
		panic("simulator: intn out of range")
	}
	return int(v)
}

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int64) int64 {
	d := hi - lo
	if d <= 0 || d == math.MaxInt64 { // hi <= lo, or a span (or its overflow) no caller asks for
		return lo
	}
	v := r.next() % (uint64(d) + 1)
	if v > math.MaxInt64 { // never: v <= d
		panic("simulator: between out of range")
	}
	return lo + int64(v)
}

// pct returns true with probability p/1000.
func (r *rng) permille(p int) bool { return r.intn(1000) < p }

type weighted[T any] struct {
	w int
	v T
}

// table is a weighted choice with its total weight computed once.
type table[T any] struct {
	items   []weighted[T]
	weights weights
}

// weights are a table's weights; choosing by index keeps the hot loop out of generic code,
// whose shape-based instantiations the race detector's pointer checks make several times slower.
type weights struct {
	w     []int
	total int
}

func newTable[T any](items []weighted[T]) table[T] {
	t := table[T]{items: items}
	for _, it := range items {
		t.weights.w = append(t.weights.w, it.w)
		t.weights.total += it.w
	}
	return t
}

func (t table[T]) pick(r *rng) T { return t.items[t.weights.pick(r)].v }

//go:norace
func (ws weights) pick(r *rng) int {
	x := r.intn(ws.total)
	for i, w := range ws.w {
		if x < w {
			return i
		}
		x -= w
	}
	return len(ws.w) - 1
}

// zipf draws ranks 0..n-1 with weights 1/(k+1) (integer cumulative table).
type zipf struct{ cdf []uint64 }

func newZipf(n int) zipf {
	z := zipf{cdf: make([]uint64, n)}
	var acc uint64
	for k := range n {
		acc += 1_000_000_000 / uint64(k+1)
		z.cdf[k] = acc
	}
	return z
}

//go:norace
func (z zipf) draw(r *rng) int {
	x := r.next()%z.cdf[len(z.cdf)-1] + 1
	// The first rank whose cumulative weight reaches x (slices.BinarySearch, written out so
	// that it runs without race instrumentation too).
	lo, hi := 0, len(z.cdf)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if z.cdf[mid] < x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// ---------------------------------------------------------------------------
// Fixed address tables.

type host struct {
	addr     netip.Addr
	ip       string
	name     *string
	v6       bool
	exporter int // index into exporters; internal hosts only
}

type exporter struct {
	addr    netip.Addr
	ip      string
	version int
}

var exporters = []exporter{
	{ip: "10.0.0.1", version: 9},
	{ip: "10.0.0.2", version: 9},
	{ip: "10.0.1.1", version: 10},
	{ip: "fd00::1", version: 10},
}

var hostnames = map[string]string{
	"1.1.1.1":                  "one.one.one.one",
	"1.0.0.1":                  "one.one.one.one",
	"8.8.8.8":                  "dns.google",
	"8.8.4.4":                  "dns.google",
	"9.9.9.9":                  "dns9.quad9.net",
	"208.67.222.222":           "resolver1.opendns.com",
	"162.159.200.1":            "time.cloudflare.com",
	"129.6.15.28":              "time-a-g.nist.gov",
	"140.82.112.3":             "lb-140-82-112-3-iad.github.com",
	"142.250.72.46":            "lax17s55-in-f14.1e100.net",
	"91.189.91.38":             "ubuntu-mirror-1.ps5.canonical.com",
	"2606:4700:4700::1111":     "one.one.one.one",
	"2606:4700:4700::1001":     "one.one.one.one",
	"2001:4860:4860::8888":     "dns.google",
	"2001:4860:4860::8844":     "dns.google",
	"2a00:1450:4001:81c::200e": "fra16s48-in-x0e.1e100.net",
	"10.0.0.3":                 "gw.lab.internal",
	"10.0.0.10":                "nas.lab.internal",
	"10.0.0.11":                "printer.lab.internal",
	"10.0.0.20":                "backup.lab.internal",
	"10.0.0.53":                "dns.lab.internal",
	"10.0.1.10":                "k8s-node-1.lab.internal",
	"10.0.1.11":                "k8s-node-2.lab.internal",
	"10.0.1.12":                "k8s-node-3.lab.internal",
	"2001:db8::10":             "nas.lab.internal",
	"2001:db8::20":             "backup.lab.internal",
}

var (
	hosts      []host
	hostIndex  = map[netip.Addr]int{}
	expIndex   = map[netip.Addr]int{}
	internal4  []int
	internal6  []int
	external4  []int
	external6  []int
	protoNames [256]*string
)

func addHost(s string, list *[]int, exp int) {
	a := netip.MustParseAddr(s)
	h := host{addr: a, ip: a.String(), v6: a.Is6(), exporter: exp}
	if n, ok := hostnames[h.ip]; ok {
		h.name = &n
	}
	if _, dup := hostIndex[a]; dup {
		panic("simulator: duplicate host " + s)
	}
	hostIndex[a] = len(hosts)
	*list = append(*list, len(hosts))
	hosts = append(hosts, h)
}

func init() {
	for i := range exporters {
		a := netip.MustParseAddr(exporters[i].ip)
		exporters[i].addr, exporters[i].ip = a, a.String()
		expIndex[a] = i
	}
	// Internal IPv4: 10.0.0.3–10.0.0.90 (exporters 10.0.0.1 / 10.0.0.2),
	// 10.0.1.10–10.0.1.46 (exporter 10.0.1.1): 125 hosts.
	for i := 3; i <= 90; i++ {
		exp := 0
		if i > 45 {
			exp = 1
		}
		addHost(fmt.Sprintf("10.0.0.%d", i), &internal4, exp)
	}
	for i := 10; i <= 46; i++ {
		addHost(fmt.Sprintf("10.0.1.%d", i), &internal4, 2)
	}
	// Internal IPv6: 2001:db8::10–2001:db8::28 (hex), exporter fd00::1: 25 hosts.
	for i := 0x10; i < 0x10+25; i++ {
		addHost(fmt.Sprintf("2001:db8::%x", i), &internal6, 3)
	}
	// External IPv4: 20 well-known + 190 documentation addresses.
	for _, s := range []string{
		"1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4", "9.9.9.9", "208.67.222.222",
		"142.250.72.46", "142.250.185.78", "140.82.112.3", "151.101.1.69",
		"104.16.132.229", "13.107.42.14", "17.253.144.10", "52.94.236.248",
		"31.13.72.36", "185.199.108.153", "23.215.0.136", "91.189.91.38",
		"162.159.200.1", "129.6.15.28",
	} {
		addHost(s, &external4, -1)
	}
	for i := 1; i <= 100; i++ {
		addHost(fmt.Sprintf("203.0.113.%d", i), &external4, -1)
	}
	for i := 1; i <= 90; i++ {
		addHost(fmt.Sprintf("198.51.100.%d", i), &external4, -1)
	}
	// External IPv6: 8 well-known + 32 generated: 40 hosts.
	for _, s := range []string{
		"2606:4700:4700::1111", "2606:4700:4700::1001", "2001:4860:4860::8888",
		"2001:4860:4860::8844", "2a00:1450:4001:81c::200e",
		"2a03:2880:f10c:83:face:b00c:0:25de", "2620:1ec:c11::200", "2a04:4e42::223",
	} {
		addHost(s, &external6, -1)
	}
	for i := 0; i < 32; i++ {
		addHost(fmt.Sprintf("2a00:1450:4001:8%02x::2003", i+0x20), &external6, -1)
	}
	for n, s := range map[int]string{1: "ICMP", 6: "TCP", 17: "UDP", 47: "GRE", 50: "ESP", 58: "ICMPv6", 132: "SCTP"} {
		name := s
		protoNames[n] = &name
	}
}

// ---------------------------------------------------------------------------
// Per-seed generator.

type pool struct {
	members []int // host indices, ordered by Zipf rank for this seed
	z       zipf
}

func newPool(members []int, r *rng) pool {
	m := slices.Clone(members)
	for i := len(m) - 1; i > 0; i-- { // Fisher–Yates with the seed's rng
		j := r.intn(i + 1)
		m[i], m[j] = m[j], m[i]
	}
	return pool{members: m, z: newZipf(len(m))}
}

//go:norace
func (p pool) draw(r *rng) int { return p.members[p.z.draw(r)] }

type generator struct {
	seed    int64
	idKey   uint64
	perMin  int
	idle    func(time.Time) bool
	in4     pool
	in6     pool
	ex4     pool
	ex6     pool
	diurnal [24]int // percent, mean 100
}

func newGenerator(seed int64, perMin int, idle func(time.Time) bool) *generator {
	r := rng{s: mix64(intconv.Bits(seed) ^ 0x5eed5eed5eed5eed)}
	g := &generator{
		seed:   seed,
		idKey:  mix64(intconv.Bits(seed)*0xd6e8feb86659fd93 ^ 0xa0761d6478bd642f),
		perMin: perMin,
		idle:   idle,
		// Quiet nights, busy afternoons (UTC).
		diurnal: [24]int{55, 50, 45, 45, 50, 60, 75, 95, 115, 125, 130, 130, 125, 130, 135, 140, 135, 125, 115, 110, 105, 95, 80, 65},
	}
	g.in4 = newPool(internal4, &r)
	g.in6 = newPool(internal6, &r)
	g.ex4 = newPool(external4, &r)
	g.ex6 = newPool(external6, &r)
	return g
}

func (g *generator) id(minute int64, index int) string {
	return fmt.Sprintf("%016x", g.idValue(minute, index))
}

// idValue is a record's id as a number; its 16 hex digits order as the number does.
func (g *generator) idValue(minute int64, index int) uint64 {
	return mix64((intconv.Bits(minute)<<20 | intconv.Bits(int64(index))) ^ g.idKey)
}

// record is a Flow plus the table indices used for fast filtering.
type record struct {
	Flow
	src, dst int
	exp      int
}

type window struct {
	minute int64
	recs   []record // sorted by id ascending

	startOnce sync.Once
	byStart   []int32 // indices of recs by first_seen_ms, then id (views.go)
}

type service struct {
	port   int
	e0     int // bytes start at 2^e0
	q      int // per-mille probability of each further doubling (tail)
	pktMin int64
	pktMax int64 // average packet size range
}

var (
	tcpServices = newTable([]weighted[service]{
		{470, service{443, 13, 560, 300, 1450}},
		{110, service{80, 12, 540, 300, 1450}},
		{50, service{8080, 10, 520, 200, 1400}},
		{40, service{8443, 12, 540, 300, 1450}},
		{50, service{22, 10, 600, 100, 1400}},
		{30, service{3389, 14, 500, 200, 1200}},
		{40, service{445, 14, 600, 200, 1450}},
		{25, service{2049, 14, 600, 300, 1450}},
		{30, service{993, 10, 450, 150, 1200}},
		{20, service{587, 10, 450, 150, 1200}},
		{30, service{5432, 10, 500, 100, 1200}},
		{25, service{3306, 10, 500, 100, 1200}},
		{30, service{9200, 11, 500, 200, 1400}},
		{25, service{25, 10, 450, 150, 1200}},
		{25, service{9100, 12, 500, 500, 1450}},
	})
	udpServices = newTable([]weighted[service]{
		{400, service{53, 6, 300, 60, 300}},
		{230, service{443, 13, 560, 200, 1350}},
		{150, service{123, 6, 150, 76, 90}},
		{60, service{51820, 11, 560, 100, 1420}},
		{30, service{1194, 11, 540, 100, 1400}},
		{50, service{5353, 7, 300, 60, 400}},
		{40, service{514, 8, 450, 80, 600}},
		{40, service{161, 7, 400, 60, 500}},
	})
	sctpServices = newTable([]weighted[service]{
		{60, service{3868, 9, 400, 100, 800}},
		{40, service{38412, 9, 400, 100, 800}},
	})
	icmpService   = service{0, 6, 400, 64, 128}
	tunnelService = service{0, 14, 550, 200, 1420}
	otherService  = service{0, 8, 400, 60, 1000}

	protocols = newTable([]weighted[int]{
		{700, 6}, {220, 17}, {40, 1}, {12, 47}, {14, 50}, {7, 132}, {7, 253},
	})
	tcpFlags = newTable([]weighted[int]{
		{400, 27}, {250, 24}, {100, 16}, {100, 26}, {50, 2}, {50, 20}, {30, 31}, {20, 18},
	})
)

// count returns the number of records of a window (deterministic).
//
//go:norace
func (g *generator) count(r *rng, minute int64) int {
	hour := int((minute%1440 + 1440) % 1440 / 60)
	mult := int64(r.between(48, 144)) // mean 96
	if r.permille(20) {
		mult *= 3 // burst; overall mean ≈ 100
	}
	n := (int64(g.perMin)*int64(g.diurnal[hour])*mult + 5000) / 10000
	return int(min(n, maxPerWindow))
}

// window generates the records of the window starting at minute*60000.
func (g *generator) window(minute int64) *window {
	ws := minute * windowMs
	w := &window{minute: minute}
	if g.idle != nil && g.idle(time.UnixMilli(ws).UTC()) {
		return w
	}
	r := g.windowRNG(minute)
	n := g.count(&r, minute)
	w.recs = make([]record, n)
	var c core
	for i := range w.recs {
		g.draw(&r, minute, &c)
		g.full(minute, i, &c, &w.recs[i])
	}
	slices.SortFunc(w.recs, func(a, b record) int { return strings.Compare(a.ID, b.ID) })
	return w
}

// core is what a record's traffic is: everything the aggregations and filters need. A full
// Flow adds names, the id and the window times; light passes (aggregates, filtered reads over
// long ranges) use only this, which is many times cheaper than building every Flow.
type core struct {
	src, dst       uint16 // host indices
	exp            uint8  // exporter index
	proto          uint8
	srcPort        uint16
	dstPort        uint16
	flags          uint8
	bytes, packets int64
	first, last    int64
}

// draw generates the traffic of the record at its place in the window's random sequence.
//
//go:norace
func (g *generator) draw(r *rng, minute int64, c *core) {
	ws := minute * windowMs
	we := ws + windowMs
	v6 := r.permille(150)
	in, ex := g.in4, g.ex4
	if v6 {
		in, ex = g.in6, g.ex6
	}
	var src, dst, local int
	switch d := r.intn(100); {
	case d < 75: // outbound
		src, dst = in.draw(r), ex.draw(r)
		local = src
	case d < 90: // lateral
		src, dst = in.draw(r), in.draw(r)
		for dst == src {
			dst = in.members[r.intn(len(in.members))]
		}
		local = src
	default: // inbound
		src, dst = ex.draw(r), in.draw(r)
		local = dst
	}

	proto := protocols.pick(r)
	var svc service
	srcPort, dstPort := 0, 0
	switch proto {
	case 6:
		svc = tcpServices.pick(r)
	case 17:
		svc = udpServices.pick(r)
	case 132:
		svc = sctpServices.pick(r)
	case 1:
		svc = icmpService
		if v6 {
			proto = 58
		}
	case 47, 50:
		svc = tunnelService
	default:
		svc = otherService
	}
	if proto == 6 || proto == 17 || proto == 132 {
		dstPort = svc.port
		if r.intn(2) == 0 {
			srcPort = int(r.between(32768, 60999)) // Linux ephemeral range
		} else {
			srcPort = int(r.between(49152, 65535)) // IANA / Windows
		}
	}
	flags := 0
	if proto == 6 {
		flags = tcpFlags.pick(r)
	}

	// Heavy-tailed bytes: 2^e0 · 2^k with P(k) geometric, uniform within the octave.
	e := svc.e0
	for e < 31 && r.permille(svc.q) {
		e++
	}
	bytes := r.between(int64(1)<<e, int64(1)<<(e+1)-1)
	avg := r.between(svc.pktMin, svc.pktMax)
	if flags == 2 { // SYN only: a probe or a dropped connection
		bytes, avg = r.between(44, 180), r.between(44, 60)
	}
	packets := max(1, (bytes+avg/2)/avg)
	bytes = min(max(bytes, 40*packets), 1500*packets)

	first := ws + r.between(0, windowMs-1)
	last := first
	if packets > 1 {
		last = r.between(first, we-1)
		// At most ~1 Gbit/s: stretch the flow over the window if needed.
		if need := bytes / 125_000; last-first < need {
			last = min(first+need, we-1)
			first = max(ws, last-need)
		}
	}
	*c = core{
		src: fit16(src), dst: fit16(dst), exp: fit8(hosts[local].exporter), proto: fit8(proto),
		srcPort: fit16(srcPort), dstPort: fit16(dstPort), flags: fit8(flags),
		bytes: bytes, packets: packets, first: first, last: last,
	}
}

// fit16 and fit8 narrow draw's numbers into core's fields. Each is bounded by the table it
// comes from (hosts, exporters, protocols, ports, TCP flags); a table that outgrew its field
// panics here rather than wrap into another host or port.
func fit16(v int) uint16 {
	n, ok := intconv.Uint16(int64(v))
	if !ok {
		panic(fmt.Sprintf("simulator: %d does not fit a 16-bit field", v))
	}
	return n
}

func fit8(v int) uint8 {
	n, ok := intconv.Uint8(int64(v))
	if !ok {
		panic(fmt.Sprintf("simulator: %d does not fit an 8-bit field", v))
	}
	return n
}

// full builds the Flow of the record with the given index in its window.
func (g *generator) full(minute int64, index int, c *core, rec *record) {
	ws := minute * windowMs
	ex := exporters[c.exp]
	rec.src, rec.dst, rec.exp = int(c.src), int(c.dst), int(c.exp)
	rec.Flow = Flow{
		ID:           g.id(minute, index),
		Timestamp:    ws + windowMs,
		WindowStart:  ws,
		WindowEnd:    ws + windowMs,
		SrcIP:        hosts[c.src].ip,
		DstIP:        hosts[c.dst].ip,
		SrcHostname:  hosts[c.src].name,
		DstHostname:  hosts[c.dst].name,
		SrcPort:      int(c.srcPort),
		DstPort:      int(c.dstPort),
		Protocol:     int(c.proto),
		ProtocolName: protoNames[c.proto],
		Bytes:        c.bytes,
		Packets:      c.packets,
		TCPFlags:     int(c.flags),
		FirstSeenMs:  c.first,
		LastSeenMs:   c.last,
		ExporterIP:   ex.ip,
		Version:      ex.version,
	}
}

// windowRNG is the random sequence of a window: its record count first, then its records.
func (g *generator) windowRNG(minute int64) rng {
	return rng{s: mix64(mix64(intconv.Bits(g.seed)) + intconv.Bits(minute)*0x9e3779b97f4a7c15)}
}

// windowCount is the number of records of the window starting at minute*60000, without
// generating them.
func (g *generator) windowCount(minute int64) int {
	if g.idle != nil && g.idle(time.UnixMilli(minute*windowMs).UTC()) {
		return 0
	}
	r := g.windowRNG(minute)
	return g.count(&r, minute)
}

// each calls fn with the traffic of every record of a window, in generation order (index).
//
// The generator's hot path (each, draw, count and the choices they make) is built without race
// instrumentation (go:norace): it is pure arithmetic on a local random state and read-only
// tables, so the race detector has nothing to find there, and instrumented it made every
// reference and every simulated look-back of the scale tests 4–8× slower under -race. The
// callbacks, the server's caches and everything shared stay instrumented.
//
//go:norace
func (g *generator) each(minute int64, fn func(index int, c *core)) {
	if g.idle != nil && g.idle(time.UnixMilli(minute*windowMs).UTC()) {
		return
	}
	r := g.windowRNG(minute)
	n := g.count(&r, minute)
	var c core
	for i := range n {
		g.draw(&r, minute, &c)
		fn(i, &c)
	}
}
