package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// cmdHealthcheck asks a running worker whether it is ready: the container health
// check of an image that has no shell and no curl.
func cmdHealthcheck(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("healthcheck", env, "[--url URL]")
	url := fs.String("url", "http://127.0.0.1:9090/readyz", "the endpoint to ask")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for an answer")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc healthcheck: %v\n", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(env.stderr, "eventproc healthcheck: %s answered %s\n", *url, resp.Status)
		return 1
	}
	return 0
}
