package awsflowlogs

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/internal/motoserver"
)

// iamCall sends an IAM Query API request to moto (before authentication is switched on) and
// returns the XML answer.
func iamCall(t *testing.T, endpoint string, params url.Values) string {
	t.Helper()
	params.Set("Version", "2010-05-08")
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAccessKey+"/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IAM %s: HTTP %d %s", params.Get("Action"), resp.StatusCode, b)
	}
	return string(b)
}

func xmlValue(t *testing.T, doc, tag string) string {
	t.Helper()
	m := regexp.MustCompile("<" + tag + ">([^<]*)</" + tag + ">").FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("no <%s> in %s", tag, doc)
	}
	return m[1]
}

// setAuth switches moto's IAM checks on (0: every request is checked) or off ("inf").
func setAuth(t *testing.T, endpoint, count string) {
	t.Helper()
	resp, err := http.Post(endpoint+"/moto-api/reset-auth", "text/plain", strings.NewReader(count))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

const readerRole = "arn:aws:iam::123456789012:role/flow-log-reader"

// authFixture creates an IAM user allowed to assume readerRole (trust policy requires
// external ID "ext-42") and to call ec2:DescribeFlowLogs, but not logs:*. It returns the
// user's keys and switches moto's authentication on until the test ends.
func authFixture(t *testing.T, endpoint string) (accessKey, secretKey string) {
	iamCall(t, endpoint, url.Values{"Action": {"CreateUser"}, "UserName": {"flow-reader"}})
	out := iamCall(t, endpoint, url.Values{"Action": {"CreateAccessKey"}, "UserName": {"flow-reader"}})
	accessKey, secretKey = xmlValue(t, out, "AccessKeyId"), xmlValue(t, out, "SecretAccessKey")
	iamCall(t, endpoint, url.Values{"Action": {"PutUserPolicy"}, "UserName": {"flow-reader"}, "PolicyName": {"read"},
		"PolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","ec2:DescribeFlowLogs"],"Resource":"*"}]}`}})
	iamCall(t, endpoint, url.Values{"Action": {"CreateRole"}, "RoleName": {"flow-log-reader"},
		"AssumeRolePolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/flow-reader"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-42"}}}]}`}})
	iamCall(t, endpoint, url.Values{"Action": {"PutRolePolicy"}, "RoleName": {"flow-log-reader"}, "PolicyName": {"read"},
		"PolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeFlowLogs","logs:FilterLogEvents"],"Resource":"*"}]}`}})
	setAuth(t, endpoint, "0")
	t.Cleanup(func() { setAuth(t, endpoint, "inf") })
	return accessKey, secretKey
}

// noSecret fails when text holds any of the secrets.
func noSecret(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Fatalf("a credential leaked into %q", text)
		}
	}
}

func TestAuthenticationAgainstIAM(t *testing.T) {
	moto := motoserver.Get(t)
	accessKey, secretKey := authFixture(t, moto.URL)
	ctx := context.Background()
	logsQuery := EventsQuery{LogGroup: groupDefault, Start: time.Now().Add(-time.Hour), End: time.Now(), MaxEvents: 10}
	client := func(a Auth) *Client {
		t.Helper()
		a.DefaultRegion, a.Endpoint = "us-east-1", moto.URL
		c, err := NewClient(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("unknown key is rejected", func(t *testing.T) {
		c := client(Auth{AuthType: AuthKeys, AccessKey: testAccessKey, SecretKey: testSecretKey})
		_, err := c.DescribeFlowLogs(ctx, "us-east-1", FlowLogFilter{})
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindCredentials || !strings.Contains(err.Error(), "AWS rejected the credentials") {
			t.Fatalf("error %v, want rejected credentials", err)
		}
		noSecret(t, err.Error(), testAccessKey, testSecretKey)
	})

	t.Run("wrong secret is rejected", func(t *testing.T) {
		c := client(Auth{AuthType: AuthKeys, AccessKey: accessKey, SecretKey: "wrong" + secretKey})
		_, err := c.DescribeFlowLogs(ctx, "us-east-1", FlowLogFilter{})
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindCredentials {
			t.Fatalf("error %v, want rejected credentials", err)
		}
		noSecret(t, err.Error(), accessKey, secretKey)
	})

	t.Run("valid keys, missing permission", func(t *testing.T) {
		c := client(Auth{AuthType: AuthKeys, AccessKey: accessKey, SecretKey: secretKey})
		if _, err := c.DescribeFlowLogs(ctx, "us-east-1", FlowLogFilter{}); err != nil {
			t.Fatalf("DescribeFlowLogs with the user's keys: %v", err)
		}
		_, err := c.FilterLogEvents(ctx, "us-east-1", logsQuery, func(Event) error { return nil })
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindAccess || !strings.Contains(err.Error(), "logs:FilterLogEvents permission in us-east-1") {
			t.Fatalf("error %v, want access denied naming the permission", err)
		}
		noSecret(t, err.Error(), accessKey, secretKey)
	})

	t.Run("assume role with the external ID", func(t *testing.T) {
		c := client(Auth{AuthType: AuthKeys, AccessKey: accessKey, SecretKey: secretKey, AssumeRoleARN: readerRole, ExternalID: "ext-42"})
		id, err := c.CallerIdentity(ctx, "us-east-1")
		if err != nil || !strings.Contains(id.ARN, "assumed-role/flow-log-reader") {
			t.Fatalf("caller identity %+v, %v; want the assumed role", id, err)
		}
		// The role may read log events, the user may not: the call is made as the role.
		_, err = c.FilterLogEvents(ctx, "us-east-1", logsQuery, func(Event) error { return nil })
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindNotFound {
			t.Fatalf("FilterLogEvents as the role: %v, want only 'log group not found'", err)
		}
	})

	t.Run("assume role with a wrong external ID", func(t *testing.T) {
		c := client(Auth{AuthType: AuthKeys, AccessKey: accessKey, SecretKey: secretKey, AssumeRoleARN: readerRole, ExternalID: "ext-41"})
		_, err := c.DescribeFlowLogs(ctx, "us-east-1", FlowLogFilter{})
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindAccess || !strings.Contains(err.Error(), "sts:AssumeRole") {
			t.Fatalf("error %v, want access denied on sts:AssumeRole", err)
		}
		noSecret(t, err.Error(), accessKey, secretKey)
	})
}

func TestUnreachableEndpoint(t *testing.T) {
	// A port of our range that nothing listens on.
	c, err := NewClient(context.Background(), Auth{AuthType: AuthKeys, AccessKey: testAccessKey, SecretKey: testSecretKey,
		DefaultRegion: "us-east-1", Endpoint: "http://127.0.0.1:19698", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeFlowLogs(context.Background(), "eu-central-1", FlowLogFilter{})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindUnreachable || !strings.Contains(err.Error(), "AWS ec2:DescribeFlowLogs in region eu-central-1: the AWS endpoint is unreachable") {
		t.Fatalf("error %v, want unreachable", err)
	}
	noSecret(t, err.Error(), testAccessKey, testSecretKey)
}

func TestSettingsErrorsNameTheSetting(t *testing.T) {
	for _, tc := range []struct {
		auth Auth
		want string
	}{
		{Auth{AuthType: "password", DefaultRegion: "us-east-1"}, `authType: "password" is not one of`},
		{Auth{AuthType: AuthKeys, AccessKey: "AKIA1234", DefaultRegion: "us-east-1"}, "needs both the access key ID and the secret access key"},
		{Auth{AuthType: AuthDefault}, "defaultRegion is empty"},
		{Auth{AuthType: AuthDefault, DefaultRegion: "US East"}, `defaultRegion: "US East" is not an AWS region name`},
		{Auth{AuthType: AuthDefault, DefaultRegion: "us-east-1", AssumeRoleARN: "flow-reader"}, `assumeRoleArn: "flow-reader" is not an ARN`},
		{Auth{AuthType: AuthDefault, DefaultRegion: "us-east-1", Endpoint: "localhost:4566"}, `endpoint: "localhost:4566" is not an http(s) URL`},
	} {
		_, err := NewClient(context.Background(), tc.auth)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.auth, err, tc.want)
		}
	}
}
