package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"eventproc/adapters/awstest"
	"eventproc/cli"
)

// The engine's commands, through Run in-process and through the real binary.

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), args, []string{"PATH=/usr/bin"}, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// brokenRules writes a copy of the shipped events.d with one file replaced.
func brokenRules(t *testing.T, name, content string) string {
	t.Helper()
	dir := copyEventsD(t)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const validLine = `{"event_id":"6f1c","event_type":"order.placed","tenant_id":"t7","client_id":"c42","schema_version":"v1","occurred_at":"2026-02-04T14:00:15-03:00","body":{"order_id":"ord-1","user_id":"u-1","total":100.50,"items_count":2,"status":"confirmed"}}`

// awsEnviron is a command environment that reaches the emulators e.
func awsEnviron(e *awstest.Emulators) []string {
	return []string{
		"AWS_REGION=" + awstest.Region, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_ENDPOINT_URL_SQS=" + e.SQS.Endpoint, "AWS_ENDPOINT_URL_DYNAMODB=" + e.DynamoDB.Endpoint,
	}
}

func runCmd(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), args, environ, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}
