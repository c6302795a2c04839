package dynamotable

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"

	"eventproc/adapters/awstest"
	"eventproc/worker"
)

// TestDescribe: Describe reads a table's key schema and status from the emulator, Probe
// answers nil, and a missing table is fatal and IsMissing to both.
func TestDescribe(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := NewClient(e.Config)
	ctx := context.Background()
	name := e.CreateTable(t, "describe", "pk", "sk")
	d, err := Describe(ctx, c, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyElement{{Name: "pk", KeyType: "HASH", Type: "S"}, {Name: "sk", KeyType: "RANGE", Type: "S"}}
	if d.Name != name || !reflect.DeepEqual(d.Key, want) || !d.Active() {
		t.Errorf("Describe = %+v, want %s keyed %+v, ACTIVE", d, name, want)
	}
	if err := Probe(ctx, c, name, 0); err != nil {
		t.Errorf("Probe = %v", err)
	}

	missing := awstest.UniqueName("missing")
	_, err = Describe(ctx, c, missing, 0)
	if !IsMissing(err) || !worker.IsFatal(err) {
		t.Errorf("Describe of a missing table = %v, want a fatal error that IsMissing", err)
	}
	if err := Probe(ctx, c, missing, 0); !IsMissing(err) || !worker.IsFatal(err) {
		t.Errorf("Probe of a missing table = %v, want a fatal error that IsMissing", err)
	}
}

// describeAPI fails DescribeTable with err.
type describeAPI struct {
	API
	err error
}

func (f describeAPI) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return nil, f.err
}

// TestDescribeClassifies: Describe's and Probe's errors are classified as Table's are.
func TestDescribeClassifies(t *testing.T) {
	for _, tc := range []struct {
		code  string
		fatal bool
	}{
		{"AccessDeniedException", true},
		{"UnrecognizedClientException", true},
		{"ProvisionedThroughputExceededException", false},
		{"InternalServerError", false},
	} {
		api := describeAPI{err: &smithy.GenericAPIError{Code: tc.code}}
		_, err := Describe(context.Background(), api, "t", 0)
		for _, err := range []error{err, Probe(context.Background(), api, "t", 0)} {
			if tc.fatal {
				if !worker.IsFatal(err) {
					t.Errorf("%s: %v, want a *worker.FatalError", tc.code, err)
				}
			} else {
				checkRetryable(t, tc.code, err)
			}
			if IsMissing(err) {
				t.Errorf("%s: IsMissing(%v)", tc.code, err)
			}
		}
	}
}
