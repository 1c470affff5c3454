package awsflowlogs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ErrorKind classifies a failed AWS call by what the user has to do about it.
type ErrorKind int

// Error kinds.
const (
	KindOther       ErrorKind = iota
	KindCredentials           // the credentials were rejected (unknown key, bad signature, expired token)
	KindAccess                // the credentials are valid but lack a permission, or the region is not enabled
	KindUnreachable           // no answer from the endpoint (DNS, connection refused, timeout)
	KindThrottled             // AWS throttled the call
	KindNotFound              // the log group does not exist
	KindCanceled              // the query was canceled
)

// Error is a failed AWS call: the region and API operation, the AWS error code and message,
// and what to do. Its text never holds a credential.
type Error struct {
	Kind      ErrorKind
	Region    string
	Operation string // e.g. "ec2:DescribeFlowLogs"
	Code      string // AWS error code, e.g. "AuthFailure"; "" for transport errors
	Message   string
}

func (e *Error) Error() string {
	what := ""
	switch e.Kind {
	case KindCredentials:
		what = "AWS rejected the credentials; check the access key ID and secret access key (or the role and external ID) in the data source settings: "
	case KindAccess:
		what = fmt.Sprintf("access denied; the credentials need the %s permission in %s, and the region must be enabled for the account: ", e.Operation, e.Region)
	case KindUnreachable:
		what = "the AWS endpoint is unreachable; check the endpoint setting, the network and the proxy: "
	case KindThrottled:
		what = "AWS throttled the request; try again later or query fewer regions at once: "
	case KindNotFound:
		what = "not found: "
	}
	detail := e.Message
	if e.Code != "" {
		detail = e.Code + ": " + e.Message
	}
	return fmt.Sprintf("AWS %s in region %s: %s%s", e.Operation, e.Region, what, detail)
}

var (
	credentialCodes = map[string]bool{
		"AuthFailure": true, "InvalidClientTokenId": true, "UnrecognizedClientException": true,
		"SignatureDoesNotMatch": true, "IncompleteSignature": true, "ExpiredToken": true,
		"ExpiredTokenException": true, "InvalidAccessKeyId": true, "InvalidSignatureException": true,
		"MissingAuthenticationToken": true,
	}
	accessCodes = map[string]bool{
		"UnauthorizedOperation": true, "AccessDenied": true, "AccessDeniedException": true,
		"OptInRequired": true, "UnauthorizedAccess": true, "Blocked": true,
	}
	throttleCodes = map[string]bool{
		"RequestLimitExceeded": true, "Throttling": true, "ThrottlingException": true,
		"TooManyRequestsException": true, "LimitExceededException": true,
	}
)

// classify turns an SDK error into an *Error, with the secrets of auth removed.
func classify(auth Auth, region, op string, err error) error {
	if err == nil {
		return nil
	}
	e := &Error{Region: region, Operation: op}
	// A call made on the way, e.g. sts:AssumeRole for the credentials of an EC2 call, is the
	// one that failed: name it.
	if inner := innermostOperation(err); inner != nil && inner.ServiceID == "STS" {
		e.Operation = "sts:" + inner.OperationName
	}
	var api smithy.APIError
	var netErr net.Error
	var urlErr *url.Error
	switch {
	case errors.Is(err, context.Canceled):
		e.Kind, e.Message = KindCanceled, "canceled"
	case errors.As(err, &api):
		e.Code, e.Message = api.ErrorCode(), api.ErrorMessage()
		switch {
		case credentialCodes[e.Code]:
			e.Kind = KindCredentials
		case accessCodes[e.Code]:
			e.Kind = KindAccess
		case throttleCodes[e.Code]:
			e.Kind = KindThrottled
		case e.Code == "ResourceNotFoundException":
			e.Kind = KindNotFound
		default:
			e.Kind = kindOfStatus(err)
		}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr), errors.As(err, &urlErr):
		e.Kind, e.Message = KindUnreachable, err.Error()
	default:
		// An answer that is not an AWS error document (some emulators answer JSON APIs with
		// XML errors): the HTTP status still says what happened.
		var resp *smithyhttp.ResponseError
		if errors.As(err, &resp) {
			e.Kind = kindOfStatus(err)
			e.Message = fmt.Sprintf("HTTP %d %s", resp.HTTPStatusCode(), http.StatusText(resp.HTTPStatusCode()))
		} else {
			e.Message = err.Error()
		}
	}
	e.Message = auth.redact(e.Message)
	return e
}

func kindOfStatus(err error) ErrorKind {
	var resp *smithyhttp.ResponseError
	if !errors.As(err, &resp) {
		return KindOther
	}
	switch resp.HTTPStatusCode() {
	case http.StatusUnauthorized:
		return KindCredentials
	case http.StatusForbidden:
		return KindAccess
	case http.StatusTooManyRequests:
		return KindThrottled
	}
	return KindOther
}

func innermostOperation(err error) *smithy.OperationError {
	var found *smithy.OperationError
	for err != nil {
		if op, ok := err.(*smithy.OperationError); ok {
			found = op
		}
		err = errors.Unwrap(err)
	}
	return found
}
