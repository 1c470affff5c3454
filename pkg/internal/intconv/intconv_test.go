package intconv

import (
	"math"
	"testing"
)

func TestValuesThatDoNotFitAreRefused(t *testing.T) {
	for v, want := range map[int64]bool{-1: false, 0: true, 443: true, 65535: true, 65536: false, 70000: false, math.MinInt64: false} {
		if n, ok := Uint16(v); ok != want || (ok && int64(n) != v) {
			t.Errorf("Uint16(%d) = %d, %v", v, n, ok)
		}
	}
	for v, want := range map[int64]bool{-1: false, 0: true, 6: true, 255: true, 256: false} {
		if n, ok := Uint8(v); ok != want || (ok && int64(n) != v) {
			t.Errorf("Uint8(%d) = %d, %v", v, n, ok)
		}
	}
	for v, want := range map[int]bool{math.MinInt32: true, -1: true, math.MaxInt32: true, math.MaxInt32 + 1: false, math.MinInt32 - 1: false} {
		if n, ok := Int32(v); ok != want || (ok && int(n) != v) {
			t.Errorf("Int32(%d) = %d, %v", v, n, ok)
		}
	}
	if Bits(-1) != math.MaxUint64 || Bits(5) != 5 {
		t.Error("Bits is not the bit pattern")
	}
}
