package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHealthcheckUsesConfiguredAddr: healthcheck asks /readyz at the http.addr that
// run would use — from the file (--config or $EVENTPROC_CONFIG), EVENTPROC_HTTP_ADDR or
// --http-addr — without needing a queue named; --url overrides; an empty http.addr is
// a configuration error; a 503 fails with the worker's reason.
func TestHealthcheckUsesConfiguredAddr(t *testing.T) {
	serve := func(code int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/readyz" {
				http.NotFound(rw, r)
				return
			}
			rw.WriteHeader(code)
			rw.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	ready, notReady := serve(200, "ready\n"), serve(503, "not ready: draining\n")
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.yaml")
	withAddr := filepath.Join(dir, "addr.yaml")
	for file, content := range map[string]string{empty: "", withAddr: "http:\n  addr: " + ready + "\n"} {
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name    string
		environ []string
		args    []string
		code    int
		stderr  string
	}{
		{"env", []string{"EVENTPROC_HTTP_ADDR=" + ready}, nil, 0, ""},
		{"flag over env", []string{"EVENTPROC_HTTP_ADDR=" + ready}, []string{"--http-addr", notReady}, 1, "503 Service Unavailable: not ready: draining"},
		{"--config file", nil, []string{"--config", withAddr}, 0, ""},
		{"$EVENTPROC_CONFIG file", []string{"EVENTPROC_CONFIG=" + withAddr}, nil, 0, ""},
		{"--url over the configuration", []string{"EVENTPROC_HTTP_ADDR=" + notReady}, []string{"--url", "http://" + ready + "/readyz"}, 0, ""},
		{"no http server", []string{"EVENTPROC_HTTP_ADDR="}, nil, 2, "http.addr (EVENTPROC_HTTP_ADDR): empty"},
		{"configuration error", []string{"EVENTPROC_HTTP_ADR=" + ready}, nil, 2, `unknown environment variable EVENTPROC_HTTP_ADR (did you mean "EVENTPROC_HTTP_ADDR"?)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			environ := append([]string{"EVENTPROC_CONFIG=" + empty}, tt.environ...)
			code := Run(context.Background(), append([]string{"healthcheck"}, tt.args...), environ, strings.NewReader(""), &out, &errb)
			if code != tt.code || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("exit %d, want %d; stderr %q, want %q", code, tt.code, errb.String(), tt.stderr)
			}
		})
	}
}

func TestReadyzURL(t *testing.T) {
	for addr, want := range map[string]string{
		":9090":          "http://127.0.0.1:9090/readyz",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		"[::]:8080":      "http://127.0.0.1:8080/readyz",
		"10.1.2.3:80":    "http://10.1.2.3:80/readyz",
		"[fd00::1]:9090": "http://[fd00::1]:9090/readyz",
		"worker:9090":    "http://worker:9090/readyz",
	} {
		if got, err := readyzURL(addr); got != want || err != nil {
			t.Errorf("readyzURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	for _, addr := range []string{"", "9090"} {
		if got, err := readyzURL(addr); err == nil {
			t.Errorf("readyzURL(%q) = %q, want an error", addr, got)
		}
	}
}
