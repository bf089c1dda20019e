package queue

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind, such as the
// writer goroutine of a Queue that Close did not stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
