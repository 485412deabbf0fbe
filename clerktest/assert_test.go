package clerktest_test

import (
	"fmt"
	"reflect"
	"testing"
)

// Small assertion helpers: the core module's go.sum is shared with other
// work, so these tests use the standard library only.

func noErr(t *testing.T, err error, msg ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%sunexpected error: %v", prefix(msg), err)
	}
}

func isTrue(t *testing.T, ok bool, msg ...any) {
	t.Helper()
	if !ok {
		t.Fatalf("%scondition is false", prefix(msg))
	}
}

func equal(t *testing.T, got, want any, msg ...any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%sgot %#v; want %#v", prefix(msg), got, want)
	}
}

func prefix(msg []any) string {
	if len(msg) == 0 {
		return ""
	}
	if f, ok := msg[0].(string); ok {
		return fmt.Sprintf(f, msg[1:]...) + ": "
	}
	return fmt.Sprint(msg...) + ": "
}
