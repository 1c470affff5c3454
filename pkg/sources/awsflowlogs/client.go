package awsflowlogs

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Client calls EC2, CloudWatch Logs and STS in any region with one set of credentials. It is
// safe for concurrent use; the per-region SDK clients are made on first use and kept.
type Client struct {
	auth Auth
	cfg  aws.Config

	mu   sync.Mutex
	ec2  map[string]*ec2.Client
	logs map[string]*cloudwatchlogs.Client
}

// NewClient checks auth and prepares the SDK configuration. It does not call AWS.
func NewClient(ctx context.Context, auth Auth) (*Client, error) {
	cfg, err := auth.loadConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s", auth.redact(err.Error()))
	}
	return &Client{auth: auth, cfg: cfg, ec2: map[string]*ec2.Client{}, logs: map[string]*cloudwatchlogs.Client{}}, nil
}

// DefaultRegion is the region of the settings.
func (c *Client) DefaultRegion() string { return c.auth.DefaultRegion }

func (c *Client) ec2In(region string) *ec2.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.ec2[region]
	if cl == nil {
		cl = ec2.NewFromConfig(c.cfg, func(o *ec2.Options) { o.Region = region })
		c.ec2[region] = cl
	}
	return cl
}

func (c *Client) logsIn(region string) *cloudwatchlogs.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.logs[region]
	if cl == nil {
		cl = cloudwatchlogs.NewFromConfig(c.cfg, func(o *cloudwatchlogs.Options) { o.Region = region })
		c.logs[region] = cl
	}
	return cl
}

// Identity is the answer of sts:GetCallerIdentity.
type Identity struct {
	Account string
	ARN     string
}

// CallerIdentity asks STS who the credentials are: the cheapest call that proves they work
// (it needs no permission).
func (c *Client) CallerIdentity(ctx context.Context, region string) (Identity, error) {
	out, err := sts.NewFromConfig(c.cfg, func(o *sts.Options) { o.Region = region }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, classify(c.auth, region, "sts:GetCallerIdentity", err)
	}
	return Identity{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn)}, nil
}
