// Package awsflowlogs is the client for AWS VPC flow logs: the flow-log configurations of an
// account (EC2 DescribeFlowLogs) and the records they deliver to CloudWatch Logs
// (FilterLogEvents), with a parser of the VPC flow log record formats. It knows the AWS SDK
// for Go v2 and nothing of Grafana.
//
// It is the only package that imports service/ec2, whose cold compile takes minutes; see
// docs/performance.md.
package awsflowlogs

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Authentication types, named as in Grafana's AWS data sources (grafana-aws-sdk's AuthType).
const (
	AuthDefault     = "default"     // the SDK's default credential chain (env, shared files, web identity, ECS, EC2 role)
	AuthKeys        = "keys"        // access key ID and secret access key from secure settings
	AuthCredentials = "credentials" // a profile of the shared credentials file
	// AuthEC2IAMRole and the deprecated "arn" are what @grafana/aws-sdk's editor may save; the
	// default chain covers both (it ends with the EC2 instance role).
	AuthEC2IAMRole = "ec2_iam_role"
	authARN        = "arn"
)

// Auth is how the client signs in: the shape of grafana-aws-sdk's AWSDatasourceSettings
// (authType, profile, assumeRoleArn, externalId, defaultRegion, endpoint, secure accessKey,
// secretKey and sessionToken).
type Auth struct {
	AuthType      string
	Profile       string
	AccessKey     string // secret: never logged, never in an error
	SecretKey     string // secret
	SessionToken  string // secret
	AssumeRoleARN string
	ExternalID    string
	DefaultRegion string
	// Endpoint overrides the AWS endpoint of every service (EC2, CloudWatch Logs, STS), e.g.
	// a VPC endpoint or a local emulator. Empty: the public endpoint of each region.
	Endpoint string
	// HTTPClient sends the requests; nil: a client with Timeout.
	HTTPClient *http.Client
	Timeout    time.Duration
}

// Validate checks the settings without calling AWS. Errors name the setting and value.
func (a Auth) Validate() error {
	switch a.AuthType {
	case AuthDefault, "", AuthEC2IAMRole, authARN:
	case AuthKeys:
		if a.AccessKey == "" || a.SecretKey == "" {
			return fmt.Errorf("authType %q needs both the access key ID and the secret access key; enter them in the data source settings", AuthKeys)
		}
	case AuthCredentials:
	default:
		return fmt.Errorf("authType: %q is not one of %q, %q, %q, %q (Grafana's own assume role needs Grafana Cloud)", a.AuthType, AuthDefault, AuthKeys, AuthCredentials, AuthEC2IAMRole)
	}
	if a.DefaultRegion == "" {
		return fmt.Errorf("defaultRegion is empty; set the region the data source queries by default, e.g. us-east-1")
	}
	if !validRegion(a.DefaultRegion) {
		return fmt.Errorf("defaultRegion: %q is not an AWS region name like us-east-1", a.DefaultRegion)
	}
	if a.AssumeRoleARN != "" && !strings.HasPrefix(a.AssumeRoleARN, "arn:") {
		return fmt.Errorf("assumeRoleArn: %q is not an ARN like arn:aws:iam::123456789012:role/flow-log-reader", a.AssumeRoleARN)
	}
	if a.Endpoint != "" {
		u, err := url.Parse(a.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("endpoint: %q is not an http(s) URL like https://ec2.eu-west-1.amazonaws.com", a.Endpoint)
		}
	}
	return nil
}

// validRegion accepts region names such as us-east-1, eu-central-2, us-gov-west-1, cn-north-1
// and emulator regions; it rejects text that could not be part of a host name.
func validRegion(r string) bool {
	if len(r) < 3 || len(r) > 32 {
		return false
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidRegion reports whether r looks like an AWS region name.
func ValidRegion(r string) bool { return validRegion(r) }

// loadConfig builds the SDK configuration: region, credentials (with the assumed role on
// top), endpoint override, HTTP client and retries.
func (a Auth) loadConfig(ctx context.Context) (aws.Config, error) {
	if err := a.Validate(); err != nil {
		return aws.Config{}, err
	}
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	// The SDK's buildable client, not a plain *http.Client: it can take a CA bundle
	// (AWS_CA_BUNDLE, ca_bundle in the shared config).
	var hc config.HTTPClient = awshttp.NewBuildableClient().WithTimeout(timeout)
	if a.HTTPClient != nil {
		hc = a.HTTPClient
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(a.DefaultRegion),
		config.WithHTTPClient(hc),
		config.WithRetryMaxAttempts(3),
	}
	switch a.AuthType {
	case AuthKeys:
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(a.AccessKey, a.SecretKey, a.SessionToken)))
	case AuthCredentials:
		if a.Profile != "" {
			opts = append(opts, config.WithSharedConfigProfile(a.Profile))
		}
	}
	if a.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(a.Endpoint))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the AWS configuration (authType %q): %w", a.AuthType, err)
	}
	if a.AssumeRoleARN != "" {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), a.AssumeRoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "grafana-flows-datasource"
			if a.ExternalID != "" {
				o.ExternalID = aws.String(a.ExternalID)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	return cfg, nil
}

// redact removes the secrets of a from text (errors of the SDK quote what they were given in
// some cases, e.g. a malformed key).
func (a Auth) redact(s string) string {
	for _, secret := range []string{a.SecretKey, a.SessionToken, a.AccessKey} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}
