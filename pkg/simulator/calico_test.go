package simulator

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func calicoDocsOf(t *testing.T, cfg CalicoConfig, from, to time.Time) []CalicoDoc {
	t.Helper()
	var docs []CalicoDoc
	if err := CalicoDocs(cfg, from, to, func(d *CalicoDoc) error { docs = append(docs, *d); return nil }); err != nil {
		t.Fatal(err)
	}
	return docs
}

// The documents are the simulator's flows as Calico's two reporters would log them.
func TestCalicoDocsAreTheSimulatorsFlows(t *testing.T) {
	from := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	to := from.Add(2 * time.Hour)
	docs := calicoDocsOf(t, CalicoConfig{}, from, to)
	if again := calicoDocsOf(t, CalicoConfig{}, from, to); !reflect.DeepEqual(docs, again) {
		t.Fatal("the same range gave different documents")
	}

	byFlow := map[string]map[string]CalicoDoc{}
	for _, d := range docs {
		id, reporter, _ := strings.Cut(d.ID, "-")
		if reporter != d.Reporter {
			t.Fatalf("doc %s has reporter %q", d.ID, d.Reporter)
		}
		if byFlow[id] == nil {
			byFlow[id] = map[string]CalicoDoc{}
		}
		if _, dup := byFlow[id][reporter]; dup {
			t.Fatalf("flow %s reported twice by %s", id, reporter)
		}
		byFlow[id][reporter] = d
	}

	g := newGenerator(DefaultSeed, DefaultFlowsPerMinute, nil)
	var flows, withCalicoEnd, both, disagree, deniedAtSource, masked int
	for m := from.UnixMilli() / windowMs; m < to.UnixMilli()/windowMs; m++ {
		for _, r := range g.window(m).recs {
			flows++
			src, dst := calicoEndpoints()[r.src], calicoEndpoints()[r.dst]
			reports := byFlow[r.ID]
			if !src.calico() && !dst.calico() {
				if len(reports) != 0 {
					t.Fatalf("flow %s has no Calico end but %d reports", r.ID, len(reports))
				}
				continue
			}
			withCalicoEnd++
			s, hasSrc := reports["src"]
			d, hasDst := reports["dst"]
			if hasSrc != src.calico() {
				t.Fatalf("flow %s: src report %v, source is Calico %v", r.ID, hasSrc, src.calico())
			}
			if hasSrc && (s.BytesOut != r.Bytes || s.PacketsOut != r.Packets) {
				t.Fatalf("flow %s: src report out %d/%d, flow %d/%d", r.ID, s.BytesOut, s.PacketsOut, r.Bytes, r.Packets)
			}
			if hasDst && (d.BytesIn != r.Bytes || d.PacketsIn != r.Packets) {
				t.Fatalf("flow %s: dst report in %d/%d, flow %d/%d", r.ID, d.BytesIn, d.PacketsIn, r.Bytes, r.Packets)
			}
			if hasSrc && s.Action == "deny" && hasDst {
				t.Fatalf("flow %s denied at its source was reported by its destination", r.ID)
			}
			if hasSrc && !hasDst && dst.calico() {
				deniedAtSource++
				if s.Action != "deny" {
					t.Fatalf("flow %s: only the source reported an allowed flow to a Calico endpoint", r.ID)
				}
			}
			if hasSrc && hasDst {
				both++
				if s.BytesIn+s.BytesOut != d.BytesIn+d.BytesOut || s.PacketsIn+s.PacketsOut != d.PacketsIn+d.PacketsOut {
					t.Fatalf("flow %s: the two reports disagree on the totals", r.ID)
				}
				if s.Action != d.Action {
					disagree++
				}
			}
			for _, doc := range reports {
				if doc.StartTime*1000 > r.WindowStart || doc.EndTime*1000 < r.WindowEnd || doc.EndTime-doc.StartTime != 300 {
					t.Fatalf("flow %s window [%d,%d] not inside doc interval [%d,%d] s", r.ID, r.WindowStart, r.WindowEnd, doc.StartTime, doc.EndTime)
				}
				if doc.SourceIP == nil {
					masked++
					if doc.SourceNameAggr == "" || doc.SourceNamespace == "" || doc.DestIP != nil || doc.SourcePort != nil {
						t.Fatalf("masked doc %s keeps an address or lacks its aggregated name: %+v", doc.ID, doc)
					}
				} else if *doc.SourceIP != r.SrcIP || *doc.DestIP != r.DstIP {
					t.Fatalf("doc %s addresses %s → %s, flow %s → %s", doc.ID, *doc.SourceIP, *doc.DestIP, r.SrcIP, r.DstIP)
				}
			}
		}
	}
	t.Logf("%d flows, %d with a Calico end, %d reported twice (%d disagreeing), %d denied at the source, %d masked docs", flows, withCalicoEnd, both, disagree, deniedAtSource, masked)
	if both == 0 || disagree == 0 || deniedAtSource == 0 || masked == 0 || withCalicoEnd == flows {
		t.Fatal("the traffic lacks a case the Calico tests rely on")
	}
}
