package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"eventproc/config"
)

// cmdHealthcheck asks a running worker whether it is ready: the container health
// check of an image that has no shell and no curl. It asks /readyz at the http.addr of
// the configuration `eventproc run` would use with the same file, EVENTPROC_*
// variables and flags (no queue needs to be named), unless --url names the endpoint.
func cmdHealthcheck(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("healthcheck", env, "[--url URL] [--timeout DURATION] "+configSynopsis()+"\n\n"+
		"Exits 0 when the worker answers ready on /readyz at the configured http.addr (the\n"+
		"configuration file, EVENTPROC_* variables and flags, as for run), or at --url.")
	url := fs.String("url", "", "the `URL` to ask (default: /readyz at http.addr)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for an answer")
	loadConfig := configFlags(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return unexpectedArg(env, fs)
	}
	target := *url
	if target == "" {
		cfg, err := loadConfig(env, func(in *config.Input) { in.QueueOptional = true })
		if err != nil {
			fmt.Fprintf(env.stderr, "eventproc healthcheck: %v\n", err)
			return 2
		}
		if target, err = readyzURL(cfg.HTTPAddr); err != nil {
			fmt.Fprintf(env.stderr, "eventproc healthcheck: http.addr (%s): %v\n", cfg.Origin["http.addr"], err)
			return 2
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		fmt.Fprintf(env.stderr, "eventproc healthcheck: %s answered %s: %s\n", target, resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	return 0
}

// readyzURL is the /readyz URL of a worker listening on addr (http.addr): an
// unspecified host (":9090", "0.0.0.0:9090", "[::]:9090") is asked on the loopback.
func readyzURL(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("empty: the worker serves no /readyz")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
