// Package simulator is an in-memory Flows API server over deterministic
// synthetic traffic. It implements exactly the three endpoints of the Flows
// API (GET /api/v1/flows, /api/v1/flows/top-talkers, /api/v1/flows/protocols)
// and is the demo backend, the target of the plugin's integration tests and
// of its benchmarks. Use it in-process:
//
//	srv := httptest.NewServer(simulator.New(simulator.Config{Now: fixedClock}))
//
// or run the binary: go run ./cmd/flows-simulator
//
// # Time
//
// Records are aggregated over 60 s tumbling windows aligned to the epoch
// minute. Every record of a window has window_start, window_end =
// window_start+60000 and timestamp = window_end (as in the spec example);
// first_seen_ms <= last_seen_ms lie in [window_start, window_end).
//
// A window is published once window_end <= now (Config.Now). Data exists for
// the windows with window_start >= now - Config.History (rolling retention),
// so as the clock advances one 60 s window is added at the newest end and one
// drops off the oldest end. Windows for which Config.Idle returns true exist but
// hold no records (idle stretches).
//
// # Traffic
//
// Generation is deterministic per (Seed, window_start): the same seed and window
// always give the same records, whatever else was generated before and in
// whichever order (no global random state; integer-only arithmetic, so the
// output is also the same on every platform and Go release). The record count
// of a window varies around FlowsPerMinute (a diurnal factor by UTC hour, ±50 %
// noise, and an occasional ×3 burst; the mean over a day is ≈ FlowsPerMinute).
// Talkers are Zipf-distributed (a few of the ~150 internal hosts and ~250
// external hosts dominate; which ones depends on the seed), bytes are
// heavy-tailed, bytes/packets is always within [40, 1500], tcp_flags is 0 for
// everything but TCP. Protocols: TCP 6 (~70 %), UDP 17 (~22 %), ICMP 1 (~4 %),
// GRE 47, ESP 50, SCTP 132 and 253 (no name: protocol_name null); IPv6 flows
// (~15 %, both ends IPv6) use ICMPv6 58 instead of ICMP. Exporters 10.0.0.1 and
// 10.0.0.2 (version 9), 10.0.1.1 and fd00::1 (version 10); the exporter of a
// flow is fixed by its internal host. Hostnames come from a fixed table
// (1.1.1.1 one.one.one.one, 8.8.8.8 dns.google, 10.0.0.10 nas.lab.internal, …)
// and are null for the other addresses. IDs are 16 lower-case hex digits
// derived from (seed, window_start, index), unique per seed.
//
// Nothing is materialised for the Flows API endpoints: a window's records are regenerated on
// demand, and the server keeps, within fixed budgets, the whole windows of recent pages (LRU,
// 400,000 records), per window its record count and protocol sums, and per UTC hour and day
// the sums per source, destination and pair (LRU, 4 M keys). So eight days at 4000 flows/min
// (46 M records) are served in bounded memory: counts (total) cost nothing, look-backs add
// cached hour and day sums, and /flows sorted by bytes or packets selects its page in one pass
// over the range (offset+limit at most 2,000,000).
//
// # Clock, retention, caps
//
// Config.ClockOffset shifts the server's now from Config.Now (a server whose clock is ahead or
// behind the caller's); every response carries the server's now in its Date header.
// Config.Retention drops windows older than now - Retention from the index although History
// reaches further. Config.TopTalkersMaxLimit caps limit on /top-talkers below MaxLimit.
//
// # HTTP
//
// All three endpoints require "Authorization: Bearer <token>"; otherwise 401
// with {"error":"..."} and a WWW-Authenticate: Bearer header. Unknown paths
// get 404, methods other than GET 405, both with a JSON error body. Errors in
// parameters get 400 {"error":"<param>: <what is wrong>"}. A parameter given
// twice, or with an empty value, is an error; unknown parameters are ignored.
//
// GET /api/v1/flows: from, to (epoch ms, filter on timestamp, both ends
// inclusive; no from = no lower bound, no to = now; from > to gives no
// records), src_ip, dst_ip, exporter (exact match of the parsed address, so
// 2001:DB8::10 matches 2001:db8::10 and ::ffff:10.0.0.5 matches 10.0.0.5),
// port (src_port OR dst_port, 0–65535), protocol (0–255), sort
// (bytes|packets|timestamp, default timestamp), order (asc|desc, default desc),
// offset (default 0), limit (default 50, ≥ 1, capped at MaxLimit; the response
// reports the capped value). Ties are broken by id ascending in both orders,
// so paging is stable. Response: {"total","offset","limit","flows"} with total
// counting every match.
//
// GET /api/v1/flows/top-talkers: window_secs (default 3600, ≥ 1), by
// (bytes|packets, default bytes), dim (src|dst|pair, default src), limit
// (default 20, ≥ 1, capped at MaxLimit). Aggregates every published record with
// now - window_secs*1000 <= timestamp <= now by the IP (src, dst) or by
// "SRC → DST" (pair, U+2192 between single spaces). Array of
// {"key","bytes","packets","flow_count"} sorted by the by metric descending,
// ties by key ascending, at most limit rows.
//
// GET /api/v1/flows/protocols: window_secs (default 3600, ≥ 1). Same window.
// Array of {"protocol","bytes","packets","flow_count"}, protocol being the
// name or, for an unnamed number, its decimal string; sorted by bytes
// descending, ties by protocol ascending.
//
// Hence top-talkers and protocols for window_secs=W at clock now equal the
// same aggregation over /flows?from=now-W*1000&to=now (all pages).
//
// # Faults and latency
//
// Config.Latency delays every response. Config.Fault (or SetFault at run time)
// is applied in front of everything else, like a failing proxy: to requests
// whose path is in Fault.Paths (all requests when empty), before routing and
// auth, to the first Fault.Count such requests (all when 0; SetFault restarts
// the count). The answer is Fault.Status (default 500) with Fault.Body (default
// {"error":"injected fault"}), or with Malformed 200 with a truncated JSON
// body; a Retry-After header (whole seconds, rounded up) when RetryAfter > 0.
//
// # Other APIs over the same traffic
//
// The same records are also served as the Trustgrid flow-log search (GET
// /v2/audit/flow-logs, trustgrid.go) and as Huawei Cloud Firewall's ListFlowLogs (GET
// /v1/{project_id}/cfw/logs/flow, huaweicfw.go, with AK/SK signatures verified in
// apigsign.go). Config.APIs selects which faces are served. Both select records by the start
// of a flow (first_seen_ms). docs/sources.md has the field mapping and every decision.
//
// Further fault classes (each seen from a real server or proxy):
//
//   - EchoToken ("raw", "url", "base64"): an error (default 401) whose text echoes the
//     request's token in that form, EchoAt characters into the text;
//   - RedirectTo: 307 to RedirectTo + the request URI; MovedPrefix ("/moved") serves the API
//     without faults, so RedirectTo "/moved" is a same-origin redirect;
//   - NonUTF8: with an error fault, its text holds bytes that are not UTF-8 and a two-byte
//     character across byte 200; alone, every text value of the answers gets such bytes;
//   - IgnoreOffset: /flows answers every offset with the first page;
//   - Total: /flows reports this total (huge, too small or negative);
//   - AbsurdTimes: the first two /flows records of a page get window_start ±AbsurdMs;
//   - NullIDs: /flows ids null or empty plus a null record; aggregate arrays get null rows;
//   - LongStrings: every text value grows by that many bytes;
//   - PadBytes: a huge body (whitespace inside the JSON); GzipBomb: a gzip-encoded answer
//     inflating to that many bytes more;
//   - transient failures: Status 502/503/504 with Count 1.
//
// These data faults (IgnoreOffset to GzipBomb, and NonUTF8 alone) let the endpoint answer
// and then alter its 200 answer; they combine with each other, Paths and Count.
//
// Every request is logged as one line (method, path with query, status,
// duration) to Config.Log, default os.Stderr. The token is never logged.
package simulator
