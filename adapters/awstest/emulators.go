package awstest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Region is the region of every emulator config.
const Region = "us-east-1"

// Emulators is one running fauxqs and one running dynalite.
type Emulators struct {
	SQS      *Process
	DynamoDB *Process
	// Config reaches the two emulators: static dummy credentials, region us-east-1, and
	// an endpoint for SQS and one for DynamoDB (nothing read from the environment).
	Config aws.Config

	dataDir string
}

// errMissing says node or the emulators' node_modules is not installed.
var errMissing = errors.New("the emulators are not installed")

// Start starts a private pair of emulators for t, stopped (and dynalite's data removed)
// when t ends. Use it for tests that stop or pause an emulator.
func Start(t testing.TB) *Emulators {
	t.Helper()
	e, err := launch(true)
	if err != nil {
		fail(t, err)
	}
	t.Cleanup(e.Close)
	return e
}

var shared struct {
	once sync.Once
	e    *Emulators
	err  error
}

// Shared returns the test binary's one pair of emulators, starting it on first use.
// Main stops it; do not stop or pause it.
func Shared(t testing.TB) *Emulators {
	t.Helper()
	shared.once.Do(func() { shared.e, shared.err = launch(false) })
	if shared.err != nil {
		fail(t, shared.err)
	}
	return shared.e
}

// Main runs the tests and then stops the shared emulators. Call it from TestMain:
//
//	func TestMain(m *testing.M) { awstest.Main(m) }
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain that has more to do after the tests: it runs them, stops
// the shared emulators, and returns the exit code for os.Exit.
func Run(m *testing.M) int {
	code := m.Run()
	if shared.e != nil {
		shared.e.Close()
	}
	return code
}

func fail(t testing.TB, err error) {
	t.Helper()
	t.Fatalf("local AWS emulators: %v (install them with: npm ci --prefix %s)", err, PinsDir)
}

// Close stops both emulators and removes dynalite's data.
func (e *Emulators) Close() {
	e.SQS.Stop()
	e.DynamoDB.Stop()
	if e.dataDir != "" {
		os.RemoveAll(e.dataDir)
	}
}

// launch starts fauxqs and dynalite (with its data on disk when persist is set).
func launch(persist bool) (*Emulators, error) {
	modules, err := nodeModules()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node is not on PATH", errMissing)
	}
	fauxqs := filepath.Join(modules, "fauxqs", "dist", "cli.js")
	dynalite := filepath.Join(modules, "dynalite", "cli.js")
	for _, f := range []string{fauxqs, dynalite} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%w: no %s", errMissing, f)
		}
	}
	e := &Emulators{}
	if persist {
		if e.dataDir, err = os.MkdirTemp("", "awstest-dynalite-"); err != nil {
			return nil, fmt.Errorf("dynalite data dir: %w", err)
		}
	}
	e.SQS, err = startOnFreePort("fauxqs", func(port int) ([]string, []string) {
		return []string{node, fauxqs}, []string{"FAUXQS_PORT=" + strconv.Itoa(port), "FAUXQS_LOGGER=false", "FAUXQS_HOST=", "FAUXQS_INIT="}
	})
	if err != nil {
		e.Close()
		return nil, err
	}
	e.DynamoDB, err = startOnFreePort("dynalite", func(port int) ([]string, []string) {
		argv := []string{node, dynalite, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
			"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"}
		if e.dataDir != "" {
			argv = append(argv, "--path", e.dataDir)
		}
		return argv, nil
	})
	if err != nil {
		e.Close()
		return nil, err
	}
	e.Config = Config(e.SQS.Endpoint, e.DynamoDB.Endpoint)
	return e, nil
}

func startOnFreePort(name string, cmd func(port int) (argv, env []string)) (*Process, error) {
	var err error
	for range 3 {
		var port int
		if port, err = freePort(); err != nil {
			return nil, err
		}
		argv, env := cmd(port)
		p := &Process{Name: name, Port: port, Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), argv: argv, env: env}
		if err = p.Start(); err == nil {
			return p, nil
		}
	}
	return nil, err
}

// PinsDir is where the npm pins of the emulators (package.json, package-lock.json) and
// their node_modules live, relative to the module root.
const PinsDir = "adapters/awstest"

// nodeModules finds the emulators' node_modules: PinsDir/node_modules under the module
// root (the directory holding go.mod, from the working directory up).
func nodeModules() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, filepath.FromSlash(PinsDir), "node_modules"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod above the working directory", errMissing)
		}
		dir = parent
	}
}

// Config returns an aws.Config for emulators at the given endpoints: dummy static
// credentials, region us-east-1, and per-service endpoints for SQS and DynamoDB (SNS
// at the SQS endpoint: fauxqs serves both).
func Config(sqsEndpoint, dynamodbEndpoint string) aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		// Endpoints travel as a config source, as AWS_ENDPOINT_URL_SQS and
		// AWS_ENDPOINT_URL_DYNAMODB do, without touching the process environment.
		ConfigSources: []any{ServiceEndpoints{"SQS": sqsEndpoint, "SNS": sqsEndpoint, "DynamoDB": dynamodbEndpoint}},
	}
}

// ServiceEndpoints maps an SDK service id ("SQS", "DynamoDB") to its endpoint. In an
// aws.Config's ConfigSources, each service client takes its endpoint from it.
type ServiceEndpoints map[string]string

// GetServiceBaseEndpoint returns the endpoint of the service sdkID.
func (s ServiceEndpoints) GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error) {
	v, ok := s[sdkID]
	return v, ok && v != "", nil
}

var seq atomic.Int64

// UniqueName returns prefix plus a suffix unique to this test binary run.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d-%d", prefix, os.Getpid(), time.Now().UnixMilli()%1e6, seq.Add(1))
}

// SQSClient returns an SQS client of the emulators.
func (e *Emulators) SQSClient() *sqs.Client { return sqs.NewFromConfig(e.Config) }

// DynamoDBClient returns a DynamoDB client of the emulators.
func (e *Emulators) DynamoDBClient() *dynamodb.Client { return dynamodb.NewFromConfig(e.Config) }
