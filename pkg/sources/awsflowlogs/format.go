package awsflowlogs

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// DefaultLogFormat is the format of a flow log created without a LogFormat: the version 2
// fields, in this order. DescribeFlowLogs reports it verbatim for such flow logs.
const DefaultLogFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"

// knownFields are the record fields AWS documents (versions 2 to 8). A format naming anything
// else is rejected: a typo would otherwise turn a column into silent blanks.
var knownFields = map[string]bool{
	"version": true, "account-id": true, "interface-id": true, "srcaddr": true, "dstaddr": true,
	"srcport": true, "dstport": true, "protocol": true, "packets": true, "bytes": true,
	"start": true, "end": true, "action": true, "log-status": true,
	"vpc-id": true, "subnet-id": true, "instance-id": true, "tcp-flags": true, "type": true,
	"pkt-srcaddr": true, "pkt-dstaddr": true,
	"region": true, "az-id": true, "sublocation-type": true, "sublocation-id": true,
	"pkt-src-aws-service": true, "pkt-dst-aws-service": true, "flow-direction": true, "traffic-path": true,
	"ecs-cluster-arn": true, "ecs-cluster-name": true, "ecs-container-instance-arn": true,
	"ecs-container-instance-id": true, "ecs-container-id": true, "ecs-second-container-id": true,
	"ecs-service-name": true, "ecs-task-definition-arn": true, "ecs-task-arn": true, "ecs-task-id": true,
	"reject-reason": true, "resource-id": true, "encryption-status": true,
}

// Record is one VPC flow log record. Fields the format does not carry, or that the record
// leaves as "-" (NODATA and SKIPDATA records, ports of ICMP), are zero and listed as absent by
// Has.
type Record struct {
	Version     int
	AccountID   string
	InterfaceID string
	SrcAddr     string // canonical text form ("" when absent)
	DstAddr     string
	SrcPort     uint16
	DstPort     uint16
	Protocol    uint8 // IANA number
	Packets     int64
	Bytes       int64
	Start       time.Time // first packet of the capture window
	End         time.Time // last packet of the capture window
	Action      string    // ACCEPT or REJECT
	LogStatus   string    // OK, NODATA or SKIPDATA
	TCPFlags    uint8
	// Other holds the fields without a member above (vpc-id, subnet-id, flow-direction, …),
	// by their format name.
	Other map[string]string
	// present records which format fields had a value.
	present map[string]bool
}

// Has reports whether the record carried a value (not "-") for the named format field.
func (r *Record) Has(field string) bool { return r.present[field] }

// Format is a parsed logFormat: the fields of each record, in order.
type Format struct {
	fields []string
	index  map[string]int
}

// ParseFormat reads a logFormat string ("${field} ${field} ..."); an empty string is the
// default format. Errors name the offending token.
func ParseFormat(logFormat string) (Format, error) {
	if strings.TrimSpace(logFormat) == "" {
		logFormat = DefaultLogFormat
	}
	f := Format{index: map[string]int{}}
	for _, tok := range strings.Fields(logFormat) {
		if !strings.HasPrefix(tok, "${") || !strings.HasSuffix(tok, "}") || len(tok) < 4 {
			return Format{}, fmt.Errorf("logFormat: %q is not a ${field} token; a format is a space-separated list like %q", tok, "${srcaddr} ${dstaddr} ${bytes}")
		}
		name := tok[2 : len(tok)-1]
		if !knownFields[name] {
			return Format{}, fmt.Errorf("logFormat: unknown field %q; see the VPC flow log record fields in the AWS documentation", name)
		}
		if _, dup := f.index[name]; dup {
			return Format{}, fmt.Errorf("logFormat: field %q appears twice", name)
		}
		f.index[name] = len(f.fields)
		f.fields = append(f.fields, name)
	}
	return f, nil
}

// Fields returns the field names in record order.
func (f Format) Fields() []string { return append([]string(nil), f.fields...) }

// Has reports whether the format carries the named field.
func (f Format) Has(field string) bool { _, ok := f.index[field]; return ok }

// Require returns an error naming the first of fields the format lacks.
func (f Format) Require(fields ...string) error {
	for _, name := range fields {
		if !f.Has(name) {
			return fmt.Errorf("logFormat: the flow log's format has no ${%s} field, which this query needs; its fields are %s", name, strings.Join(f.fields, ", "))
		}
	}
	return nil
}

// Parse reads one record (one CloudWatch Logs event message). Errors name the field and value.
func (f Format) Parse(line string) (Record, error) {
	vals := strings.Fields(line)
	if len(vals) != len(f.fields) {
		return Record{}, fmt.Errorf("flow log record %q has %d fields, the log format has %d (%s)", clip(line), len(vals), len(f.fields), strings.Join(f.fields, " "))
	}
	r := Record{present: make(map[string]bool, len(vals))}
	for i, v := range vals {
		name := f.fields[i]
		if v == "-" {
			continue
		}
		r.present[name] = true
		if err := r.set(name, v); err != nil {
			return Record{}, fmt.Errorf("flow log record field %s: %w", name, err)
		}
	}
	return r, nil
}

func (r *Record) set(name, v string) error {
	var err error
	switch name {
	case "version":
		r.Version, err = parseInt(v, 0, 1<<16)
	case "account-id":
		r.AccountID = v
	case "interface-id":
		r.InterfaceID = v
	case "srcaddr":
		r.SrcAddr, err = parseAddr(v)
	case "dstaddr":
		r.DstAddr, err = parseAddr(v)
	case "srcport":
		r.SrcPort, err = parsePort(v)
	case "dstport":
		r.DstPort, err = parsePort(v)
	case "protocol":
		r.Protocol, err = parseByte(v)
	case "packets":
		r.Packets, err = parseCount(v)
	case "bytes":
		r.Bytes, err = parseCount(v)
	case "start":
		r.Start, err = parseUnix(v)
	case "end":
		r.End, err = parseUnix(v)
	case "action":
		if v != "ACCEPT" && v != "REJECT" {
			return fmt.Errorf("%q is not ACCEPT or REJECT", v)
		}
		r.Action = v
	case "log-status":
		if v != "OK" && v != "NODATA" && v != "SKIPDATA" {
			return fmt.Errorf("%q is not OK, NODATA or SKIPDATA", v)
		}
		r.LogStatus = v
	case "tcp-flags":
		// The flags AWS reports (FIN 1, SYN 2, RST 4, SYN-ACK 18, or'ed) fit the engine's byte.
		r.TCPFlags, err = parseByte(v)
	default:
		if r.Other == nil {
			r.Other = map[string]string{}
		}
		r.Other[name] = v
	}
	return err
}

func parseInt(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a whole number from %d to %d", v, lo, hi)
	}
	return n, nil
}

// parsePort and parseByte read a number straight into its field's type, so no value is
// narrowed (and wrapped) later.
func parsePort(v string) (uint16, error) {
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number from 0 to 65535", v)
	}
	return uint16(n), nil
}

func parseByte(v string) (uint8, error) {
	n, err := strconv.ParseUint(v, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number from 0 to 255", v)
	}
	return uint8(n), nil
}

func parseCount(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a count (a whole number ≥ 0)", v)
	}
	return n, nil
}

func parseUnix(v string) (time.Time, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("%q is not a Unix time in seconds", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

func parseAddr(v string) (string, error) {
	a, err := netip.ParseAddr(v)
	if err != nil {
		return "", fmt.Errorf("%q is not an IP address", v)
	}
	return a.String(), nil
}

// clip shortens a record for an error message.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
