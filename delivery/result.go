// Package delivery writes mapped logs and traces to their destinations and
// accounts for every record it is given: written, or dead-lettered with a
// reason.
package delivery

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	"unicode/utf8"
)

// Result counts what one Write did. Every entry or span given to Write is
// accounted exactly once: written, or dead-lettered with a reason. When a
// writer returns an error, its error lists what is still pending.
type Result struct {
	// Written is the number of records the destination accepted.
	Written int
	// Bytes is the size of the written records as the destination counts
	// it (for Loki: line plus structured metadata).
	Bytes int64
	// DeadLettered counts the records that can never be written, by reason.
	DeadLettered map[string]int
}

// Add adds the counts of o to r.
func (r *Result) Add(o Result) {
	r.Written += o.Written
	r.Bytes += o.Bytes
	for reason, n := range o.DeadLettered {
		r.AddDeadLettered(reason, n)
	}
}

// AddDeadLettered counts n records dead-lettered for reason.
func (r *Result) AddDeadLettered(reason string, n int) {
	if n == 0 {
		return
	}
	if r.DeadLettered == nil {
		r.DeadLettered = map[string]int{}
	}
	r.DeadLettered[reason] += n
}

// Total returns the number of records accounted for: written plus
// dead-lettered.
func (r Result) Total() int {
	n := r.Written
	for _, c := range r.DeadLettered {
		n += c
	}
	return n
}

// DeadLetter receives what can never be written, with the reason.
// Implementations must be safe for concurrent use.
type DeadLetter interface {
	Put(destination, reason, detail string, record []byte) error
}

// deadLetterLine is one line of a FileDeadLetter file.
type deadLetterLine struct {
	At          time.Time       `json:"at"`
	Destination string          `json:"destination"`
	Reason      string          `json:"reason"`
	Detail      string          `json:"detail,omitempty"`
	Record      json.RawMessage `json:"record,omitempty"`
	// RecordBase64 replaces Record for a record that is not valid UTF-8,
	// so its bytes are kept exactly.
	RecordBase64 string `json:"record_base64,omitempty"`
}

// FileDeadLetter appends one JSON line per record to a file:
// {"at","destination","reason","detail","record"}. A record that is valid
// JSON is embedded as is, other UTF-8 text as a JSON string, and anything
// else as base64 in "record_base64". Each Put is fsynced before it returns.
// It is safe for concurrent use.
type FileDeadLetter struct {
	mu   sync.Mutex
	path string
	f    *os.File
	now  func() time.Time
}

// OpenFileDeadLetter opens path for appending, creating it with mode 0600
// when it does not exist.
func OpenFileDeadLetter(path string) (*FileDeadLetter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dead letter: opening %s failed: %w; check that its directory exists and is writable", path, err)
	}
	return &FileDeadLetter{path: path, f: f, now: time.Now}, nil
}

// Put appends one record and fsyncs the file.
func (d *FileDeadLetter) Put(destination, reason, detail string, record []byte) error {
	line := deadLetterLine{Destination: destination, Reason: reason, Detail: detail}
	switch {
	case len(record) == 0:
	case json.Valid(record):
		line.Record = record
	case utf8.Valid(record):
		quoted, err := json.Marshal(string(record))
		if err != nil {
			return fmt.Errorf("dead letter: encoding a %s record failed: %w", destination, err)
		}
		line.Record = quoted
	default:
		line.RecordBase64 = base64.StdEncoding.EncodeToString(record)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return fmt.Errorf("dead letter: %s is closed; a %s record with reason %s was not stored", d.path, destination, reason)
	}
	line.At = d.now().UTC()
	data, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("dead letter: encoding a %s record failed: %w", destination, err)
	}
	data = append(data, '\n')
	if _, err := d.f.Write(data); err != nil {
		return fmt.Errorf("dead letter: writing to %s failed: %w", d.path, err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("dead letter: fsync of %s failed: %w", d.path, err)
	}
	return nil
}

// Path returns the file's path.
func (d *FileDeadLetter) Path() string { return d.path }

// Close closes the file. Put fails after Close.
func (d *FileDeadLetter) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	if err != nil {
		return fmt.Errorf("dead letter: closing %s failed: %w", d.path, err)
	}
	return nil
}

// ErrDeadLetterUnavailable is wrapped by a writer's error when the dead
// letter rejected a record: the records were not written and not stored
// anywhere, so the caller must retry them.
var ErrDeadLetterUnavailable = errors.New("dead letter unavailable")
