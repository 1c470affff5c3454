package awsflowlogs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/flowlens/flows-datasource/pkg/internal/motoserver"
)

// checkHealth runs Save & test and fails when a credential appears in its answer.
func checkHealth(t *testing.T, endpoint string, jsonData map[string]any, secure map[string]string) *backend.CheckHealthResult {
	t.Helper()
	settings := instanceSettings(endpoint, jsonData)
	if secure != nil {
		settings.DecryptedSecureJSONData = secure
	}
	ds := testDatasourceFrom(t, settings)
	res, err := ds.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	secrets := []string{testAccessKey, testSecretKey}
	for _, v := range secure {
		secrets = append(secrets, v)
	}
	noSecret(t, string(b), secrets...)
	return res
}

// regionDenier forwards to moto, but answers requests signed for region as AWS does when a
// service control policy denies the region (or it is not enabled for the account).
func regionDenier(t *testing.T, motoURL, region string) *httptest.Server {
	target, _ := url.Parse(motoURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Authorization"), "/"+region+"/ec2/") {
			w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/flow-reader is not authorized to perform: ec2:DescribeFlowLogs with an explicit deny in a service control policy</Message></Error></Errors><RequestID>6f3d1b3e-0000-4000-8000-000000000000</RequestID></Response>`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHealthCheck(t *testing.T) {
	moto := motoserver.Get(t)
	c := newTestClient(t, moto.URL)
	createConfigs(t, c, moto.URL)

	// Capture the plugin's log: no credential may reach it either.
	logged := &captureLogger{}
	old := log.DefaultLogger
	log.DefaultLogger = logged
	t.Cleanup(func() {
		log.DefaultLogger = old
		noSecret(t, logged.buf.String(), testAccessKey, testSecretKey)
	})

	t.Run("working settings say what the account holds", func(t *testing.T) {
		res := checkHealth(t, moto.URL, nil, nil)
		if res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "Connected to AWS account 123456789012: 4 flow logs in us-east-1, eu-west-1 (3 deliver to CloudWatch Logs); 1 fail to deliver their logs") {
			t.Fatalf("%v: %s", res.Status, res.Message)
		}
	})

	t.Run("region without access", func(t *testing.T) {
		proxy := regionDenier(t, moto.URL, "eu-west-1")
		res := checkHealth(t, proxy.URL, nil, nil)
		if res.Status != backend.HealthStatusError || !strings.Contains(res.Message,
			"AWS ec2:DescribeFlowLogs in region eu-west-1: access denied; the credentials need the ec2:DescribeFlowLogs permission in eu-west-1, and the region must be enabled for the account: UnauthorizedOperation") {
			t.Fatalf("%v: %s", res.Status, res.Message)
		}
	})

	t.Run("endpoint unreachable", func(t *testing.T) {
		res := checkHealth(t, "http://127.0.0.1:19697", nil, nil)
		if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "AWS ec2:DescribeFlowLogs in region us-east-1: the AWS endpoint is unreachable") {
			t.Fatalf("%v: %s", res.Status, res.Message)
		}
	})

	t.Run("settings errors name the setting", func(t *testing.T) {
		res := checkHealth(t, moto.URL, map[string]any{"authType": "keys"}, map[string]string{"accessKey": testAccessKey})
		if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, `authType "keys" needs both the access key ID and the secret access key`) {
			t.Fatalf("%v: %s", res.Status, res.Message)
		}
		res = checkHealth(t, moto.URL, map[string]any{"regions": []string{"eu-west-1", "Frankfurt"}}, nil)
		if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, `regions: "Frankfurt" is not an AWS region name`) {
			t.Fatalf("%v: %s", res.Status, res.Message)
		}
	})

	t.Run("credentials rejected", func(t *testing.T) {
		authFixture(t, moto.URL) // switches IAM checks on; the test keys are unknown to IAM
		res := checkHealth(t, moto.URL, nil, nil)
		if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "AWS ec2:DescribeFlowLogs in region us-east-1: AWS rejected the credentials; check the access key ID and secret access key") {
			t.Fatalf("%v: %s", res.Status, res.Message)
		}
	})
}

// captureLogger records every log line with its arguments.
type captureLogger struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *captureLogger) log(msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(&l.buf, append([]any{msg}, args...)...)
}
func (l *captureLogger) Debug(msg string, args ...any)          { l.log(msg, args...) }
func (l *captureLogger) Info(msg string, args ...any)           { l.log(msg, args...) }
func (l *captureLogger) Warn(msg string, args ...any)           { l.log(msg, args...) }
func (l *captureLogger) Error(msg string, args ...any)          { l.log(msg, args...) }
func (l *captureLogger) With(...any) log.Logger                 { return l }
func (l *captureLogger) Level() log.Level                       { return log.Debug }
func (l *captureLogger) FromContext(context.Context) log.Logger { return l }
