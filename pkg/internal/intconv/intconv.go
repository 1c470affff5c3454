// Package intconv narrows integers with a bounds check, so a value that does not fit is seen
// (ok false) rather than wrapped: port 70000 must not become port 4464. gosec's G115 finds
// unchecked conversions; these are the checked ones.
package intconv

import "math"

// Uint16 is v as a uint16 (a port), ok false outside 0..65535.
func Uint16(v int64) (uint16, bool) {
	if v < 0 || v > math.MaxUint16 {
		return 0, false
	}
	return uint16(v), true
}

// Uint8 is v as a uint8 (a protocol number, TCP flags), ok false outside 0..255.
func Uint8(v int64) (uint8, bool) {
	if v < 0 || v > math.MaxUint8 {
		return 0, false
	}
	return uint8(v), true
}

// Int32 is v as an int32, ok false outside its range.
func Int32(v int) (int32, bool) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}

// Bits is the two's-complement bit pattern of v, for hashing and seeding, where a negative
// value is as good an input as any other: nothing is counted or indexed with the result.
func Bits(v int64) uint64 {
	return uint64(v) // #nosec G115 -- a bit pattern for hashing, not a quantity: wrapping is the intent
}
