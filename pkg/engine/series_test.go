package engine

import (
	"testing"
	"time"
)

// A bucket is a whole number of record windows, at least one.
func TestBucketWidth(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		0: time.Minute, time.Second: time.Minute, 60 * time.Second: time.Minute, 61 * time.Second: 2 * time.Minute,
		90 * time.Second: 2 * time.Minute, 5 * time.Minute: 5 * time.Minute, 301 * time.Second: 6 * time.Minute,
	} {
		if got := BucketWidth(in, time.Minute); got != want {
			t.Errorf("BucketWidth(%v, 1m) = %v, want %v", in, got, want)
		}
	}
}

func TestFormatWidth(t *testing.T) {
	for w, want := range map[time.Duration]string{
		time.Minute: "1m", 30 * time.Minute: "30m", 2 * time.Hour: "2h", 90 * time.Minute: "1h30m", 24 * time.Hour: "24h", 10 * time.Minute: "10m",
	} {
		if got := FormatWidth(w); got != want {
			t.Errorf("FormatWidth(%v) = %q, want %q", w, got, want)
		}
	}
}
