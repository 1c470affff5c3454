package engine

import (
	"fmt"
	"net/http"
	"strings"
)

// DownstreamError is a failure the source's system caused: an error answer, no answer, a body
// that does not parse. Status is the HTTP-like status the query answer should carry (400, 401,
// 403, 404, 429, 502, 504). The message is the wrapped error's.
type DownstreamError struct {
	Status int
	Err    error
}

func (e *DownstreamError) Error() string { return e.Err.Error() }
func (e *DownstreamError) Unwrap() error { return e.Err }

// Downstream wraps err as the source system's fault with the given status (0: 502).
func Downstream(status int, err error) error {
	if err == nil {
		return nil
	}
	if status == 0 {
		status = http.StatusBadGateway
	}
	return &DownstreamError{Status: status, Err: err}
}

// UnsupportedError is a query asking for something the source cannot do. Field and Value are
// the query's; Missing names the capability, Choices what the source offers instead.
type UnsupportedError struct {
	Source  string
	Field   string
	Value   string
	Missing string
	Choices []string
}

func (e *UnsupportedError) Error() string {
	msg := fmt.Sprintf("%s: '%s' is not available from the %s source (it has no %s)", e.Field, e.Value, e.Source, e.Missing)
	if len(e.Choices) > 0 {
		msg += "; it offers " + strings.Join(e.Choices, ", ")
	}
	return msg
}

// QueryError is a problem with what the user asked that the engine finds (too many filter
// combinations): it names the field and, where there is one, the value.
type QueryError struct {
	Field string
	Value string
	Msg   string
}

func (e *QueryError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: '%s' %s", e.Field, e.Value, e.Msg)
}
