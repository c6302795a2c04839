package limits

import (
	"testing"
	"time"
)

// The limits as AWS documents them, spelled out independently of their declarations.
func TestLimits(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, want int64
	}{
		{"SQS message: 1 MiB", MessageBytes, 1024 * 1024},
		{"SQS/SNS message attributes: 10", MessageAttributes, 10},
		{"SQS visibility timeout: 43200 s", int64(Visibility / time.Second), 43200},
		{"DynamoDB item: 400 KB", ItemBytes, 400 * 1024},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}
