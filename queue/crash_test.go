package queue

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The crash test re-executes the test binary as a producer process, which
// these variables configure.
const (
	crashDirEnv = "QUEUE_CRASH_TEST_DIR"
	crashRunEnv = "QUEUE_CRASH_TEST_RUN"

	crashProducers = 4
	crashMaxBatch  = 8 // records per Append in the child
)

var crashOptions = Options{MaxBytes: 256 << 20, SegmentBytes: 16 << 10}

// crashPayload is the record producer p of run writes with sequence number
// seq: a text prefix the parent parses, then filler derived from the prefix,
// so that the parent can tell a record the child wrote from anything else.
func crashPayload(run, p, seq int) []byte {
	prefix := fmt.Sprintf("run=%d producer=%d seq=%d;", run, p, seq)
	filler := bytes.Repeat([]byte{byte('a' + seq%26)}, (seq*37+p*11)%400)
	return append([]byte(prefix), filler...)
}

func parseCrashPayload(b []byte) (run, p, seq int, err error) {
	prefix, _, ok := bytes.Cut(b, []byte(";"))
	if !ok {
		return 0, 0, 0, fmt.Errorf("record %.60q has no ';'", b)
	}
	if _, err := fmt.Sscanf(string(prefix), "run=%d producer=%d seq=%d", &run, &p, &seq); err != nil {
		return 0, 0, 0, fmt.Errorf("record %.60q: %w", b, err)
	}
	if want := crashPayload(run, p, seq); !bytes.Equal(b, want) {
		return 0, 0, 0, fmt.Errorf("record %.60q (%d bytes) differs from what the child wrote (%d bytes)", b, len(b), len(want))
	}
	return run, p, seq, nil
}

// runCrashChild appends records until it is killed. After each Append that
// returns nil it prints "producer lastSeq" to stdout: those records are
// acknowledged.
func runCrashChild(dir string, run int) {
	// Exit on its own if the parent never kills it.
	time.AfterFunc(60*time.Second, func() { os.Exit(3) })
	q, err := Open(dir, crashOptions)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child Open:", err)
		os.Exit(2)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for p := range crashProducers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(run), uint64(p)))
			for seq := 0; ; {
				n := 1 + rng.IntN(crashMaxBatch)
				batch := make([][]byte, n)
				for i := range batch {
					batch[i] = crashPayload(run, p, seq+i)
				}
				if err := q.Append(batch...); err != nil {
					fmt.Fprintln(os.Stderr, "child Append:", err)
					os.Exit(2)
				}
				seq += n
				out.Lock()
				fmt.Fprintf(os.Stdout, "%d %d\n", p, seq-1)
				out.Unlock()
			}
		})
	}
	wg.Wait()
}

// startCrashChild starts a child that appends records of run, waits until it
// has acknowledged at least minLines Appends, lets it run a random moment
// longer and kills it with SIGKILL. It returns the highest acknowledged
// sequence number of each producer (-1 for none).
func startCrashChild(t *testing.T, dir string, run, minLines int, rng *rand.Rand) []int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecovery$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRunEnv+"="+strconv.Itoa(run))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	acked := make([]int, crashProducers)
	for i := range acked {
		acked[i] = -1
	}
	reached := make(chan struct{})
	readDone := make(chan error, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		lines := 0
		for scanner.Scan() {
			var p, seq int
			if _, err := fmt.Sscanf(scanner.Text(), "%d %d", &p, &seq); err != nil {
				// Output of the test framework, not an acknowledgement.
				continue
			}
			acked[p] = max(acked[p], seq)
			lines++
			if lines == minLines {
				close(reached)
			}
		}
		readDone <- scanner.Err()
	}()

	select {
	case <-reached:
		time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond)
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("run %d: child acknowledged fewer than %d Appends in 60s; stderr: %s", run, minLines, stderr.String())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("run %d: killing the child: %v", run, err)
	}
	if err := <-readDone; err != nil {
		t.Fatalf("run %d: reading child output: %v", run, err)
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != -1 {
		t.Fatalf("run %d: child ended with %v, want death by SIGKILL; stderr: %s", run, err, stderr.String())
	}
	return acked
}

// TestCrashRecovery kills a producer process with SIGKILL three times at
// random moments, consuming part of the queue in between, and checks that
// every acknowledged record is delivered once, in order, and that nothing
// else is.
func TestCrashRecovery(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		run, err := strconv.Atoi(os.Getenv(crashRunEnv))
		if err != nil {
			t.Fatalf("%s: %v", crashRunEnv, err)
		}
		runCrashChild(dir, run)
		return
	}
	if testing.Short() {
		t.Skip("starts child processes; skipped with -short")
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()

	const runs = 3
	acked := make([][]int, runs)
	var delivered [][]byte
	for run := range runs {
		acked[run] = startCrashChild(t, dir, run, 50+rng.IntN(1000), rng)

		q, err := Open(dir, crashOptions)
		if err != nil {
			t.Fatalf("Open after killing run %d: %v", run, err)
		}
		for _, r := range q.Repairs() {
			t.Logf("run %d: repair %+v", run, r)
		}
		// Consume a random part of the queue.
		records := q.Stats().Records
		want := rng.Int64N(records + 1)
		var consumed int64
		for consumed < want {
			b, err := q.Next(context.Background(), int(min(want-consumed, 300)))
			if err != nil {
				t.Fatalf("run %d: Next: %v", run, err)
			}
			delivered = append(delivered, b.Records...)
			consumed += int64(len(b.Records))
			if err := q.Ack(b); err != nil {
				t.Fatalf("run %d: Ack: %v", run, err)
			}
		}
		t.Logf("run %d: acknowledged %v, %d records queued, consumed %d", run, acked[run], records, consumed)
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}

	q := openQueue(t, dir, crashOptions)
	delivered = append(delivered, drain(t, q, 500)...)
	checkCrashDelivery(t, delivered, acked)
}

// checkCrashDelivery checks that per run and producer the delivered records
// are 0, 1, 2 ... M without gaps, duplicates or reordering, that M covers
// every acknowledged record and exceeds it by at most one unacknowledged
// Append, and that the runs follow one another.
func checkCrashDelivery(t *testing.T, delivered [][]byte, acked [][]int) {
	t.Helper()
	nextSeq := make([][]int, len(acked))
	for run := range nextSeq {
		nextSeq[run] = make([]int, crashProducers)
	}
	lastRun := 0
	for i, b := range delivered {
		run, p, seq, err := parseCrashPayload(b)
		if err != nil {
			t.Fatalf("delivered record %d: %v", i, err)
		}
		if run < 0 || run >= len(acked) || p < 0 || p >= crashProducers {
			t.Fatalf("delivered record %d: run %d producer %d do not exist", i, run, p)
		}
		if run < lastRun {
			t.Fatalf("delivered record %d of run %d after records of run %d", i, run, lastRun)
		}
		lastRun = run
		if seq != nextSeq[run][p] {
			t.Fatalf("run %d producer %d: delivered seq %d, want %d (lost, duplicated or reordered)", run, p, seq, nextSeq[run][p])
		}
		nextSeq[run][p]++
	}
	for run := range acked {
		for p, last := range acked[run] {
			got := nextSeq[run][p] - 1
			if got < last {
				t.Errorf("run %d producer %d: acknowledged up to seq %d, delivered only up to %d", run, p, last, got)
			}
			if got > last+crashMaxBatch {
				t.Errorf("run %d producer %d: delivered up to seq %d, but only %d was acknowledged and one Append adds at most %d",
					run, p, got, last, crashMaxBatch)
			}
		}
	}
	t.Logf("%d records delivered; last seq per run and producer: %v", len(delivered), strings.ReplaceAll(fmt.Sprint(nextSeq), " ", ","))
}
