package phases

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// migrations creates and upgrades the schema. Entry i moves the database
// from version i to i+1; PRAGMA user_version holds the version.
var migrations = []string{
	`CREATE TABLE state (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		plan TEXT NOT NULL,
		phase TEXT NOT NULL,
		generation INTEGER NOT NULL,
		entered INTEGER NOT NULL,
		entered_at TEXT NOT NULL,
		gateway_mode TEXT NOT NULL,
		updated_at TEXT NOT NULL
	);
	CREATE TABLE steps (
		phase TEXT NOT NULL,
		generation INTEGER NOT NULL,
		name TEXT NOT NULL,
		status TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		started_at TEXT NOT NULL,
		finished_at TEXT,
		summary TEXT NOT NULL DEFAULT '',
		error TEXT NOT NULL DEFAULT '',
		seq INTEGER NOT NULL,
		PRIMARY KEY (phase, generation, name)
	);
	CREATE TABLE gates (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		phase TEXT NOT NULL,
		generation INTEGER NOT NULL,
		gate TEXT NOT NULL,
		kind TEXT NOT NULL,
		status TEXT NOT NULL,
		reason TEXT NOT NULL,
		evidence TEXT NOT NULL,
		at TEXT NOT NULL
	);
	CREATE TABLE approvals (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		phase TEXT NOT NULL,
		generation INTEGER NOT NULL,
		actor TEXT NOT NULL,
		reason TEXT NOT NULL,
		at TEXT NOT NULL
	);
	CREATE TABLE journal (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		at TEXT NOT NULL,
		actor TEXT NOT NULL,
		kind TEXT NOT NULL,
		phase TEXT NOT NULL,
		generation INTEGER NOT NULL,
		step TEXT NOT NULL,
		status TEXT NOT NULL,
		reason TEXT NOT NULL,
		message TEXT NOT NULL,
		data TEXT NOT NULL
	);
	CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
		BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
	CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
		BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
	CREATE TABLE artifacts (
		key TEXT PRIMARY KEY,
		phase TEXT NOT NULL,
		generation INTEGER NOT NULL,
		value BLOB NOT NULL,
		at TEXT NOT NULL
	);
	CREATE TABLE lock (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		actor TEXT NOT NULL,
		host TEXT NOT NULL,
		pid INTEGER NOT NULL,
		command TEXT NOT NULL,
		since TEXT NOT NULL
	);`,
}

// SchemaVersion is the state database version this build writes.
var SchemaVersion = len(migrations)

// SQLiteStore is the default Store: one SQLite file in WAL mode, written
// with synchronous=FULL so a checkpoint survives a power cut, through the
// pure-Go modernc.org/sqlite driver.
type SQLiteStore struct {
	db   *sql.DB
	path string
}

var _ Store = (*SQLiteStore)(nil)

// OpenSQLite opens or creates the state file of a plan. plan is the plan's
// metadata.name; a state file of another plan is refused, so a command
// never moves the wrong migration.
func OpenSQLite(ctx context.Context, path, plan string) (*SQLiteStore, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening state %s: %w", path, err)
	}
	s := &SQLiteStore{db: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening state %s: %w", path, err)
	}
	if err := s.initState(ctx, plan); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// migrate brings the schema to SchemaVersion. Each step reads the version
// inside a write transaction, so two processes opening a new state at once
// do not both apply a migration.
func (s *SQLiteStore) migrate(ctx context.Context) error {
	for {
		done := false
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var version int
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
				return err
			}
			if version > len(migrations) {
				return fmt.Errorf("the state has schema version %d, newer than this build's %d: use a newer migrate", version, len(migrations))
			}
			if version == len(migrations) {
				done = true
				return nil
			}
			if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
				return fmt.Errorf("migrating the state schema to version %d: %w", version+1, err)
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1))
			return err
		})
		if err != nil || done {
			return err
		}
	}
}

// initState creates the state row on first use, in one transaction with
// its journal entry, and checks that an existing state is this plan's.
func (s *SQLiteStore) initState(ctx context.Context, plan string) error {
	var existing string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT plan FROM state WHERE id = 1`).Scan(&existing)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		existing = plan
		now := formatTime(time.Now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO state (id, plan, phase, generation, entered, entered_at, gateway_mode, updated_at)
			VALUES (1, ?, ?, 1, 0, '', 'dual', ?)`, plan, Order[0], now); err != nil {
			return err
		}
		return appendEntry(ctx, tx, Entry{
			Kind: KindTransition, Phase: Order[0], Generation: 1,
			Message: "plan state created at phase " + string(Order[0]),
		})
	})
	if err != nil {
		return fmt.Errorf("opening state %s: %w", s.path, err)
	}
	if existing != plan {
		return fmt.Errorf("%s: %w %q, not %q: pass --state to use another state file", s.path, ErrWrongPlan, existing, plan)
	}
	return nil
}

// Path returns the database file.
func (s *SQLiteStore) Path() string { return s.path }

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }

// CopyTo writes a consistent copy of the database to path, for a dry run
// that must not touch the real state.
func (s *SQLiteStore) CopyTo(ctx context.Context, path string) error {
	_, err := s.db.ExecContext(ctx, "VACUUM INTO ?", path)
	return err
}

func (s *SQLiteStore) State(ctx context.Context) (State, error) {
	var (
		st             State
		entered        int
		enteredAt, upd string
	)
	err := s.db.QueryRowContext(ctx, `SELECT plan, phase, generation, entered, entered_at, gateway_mode, updated_at FROM state WHERE id = 1`).
		Scan(&st.Plan, &st.Phase, &st.Generation, &entered, &enteredAt, &st.GatewayMode, &upd)
	if err != nil {
		return st, err
	}
	st.Entered = entered != 0
	st.EnteredAt = parseTime(enteredAt)
	st.UpdatedAt = parseTime(upd)
	return st, nil
}

func (s *SQLiteStore) SetState(ctx context.Context, st State, e Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO state (id, plan, phase, generation, entered, entered_at, gateway_mode, updated_at)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET plan = excluded.plan, phase = excluded.phase, generation = excluded.generation,
				entered = excluded.entered, entered_at = excluded.entered_at, gateway_mode = excluded.gateway_mode,
				updated_at = excluded.updated_at`,
			st.Plan, st.Phase, st.Generation, boolInt(st.Entered), formatTime(st.EnteredAt), st.GatewayMode, formatTime(time.Now()))
		if err != nil {
			return err
		}
		return appendEntry(ctx, tx, e)
	})
}

func (s *SQLiteStore) Steps(ctx context.Context, phase Phase, generation int) ([]StepRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT phase, generation, name, status, attempts, started_at, finished_at, summary, error
		FROM steps WHERE phase = ? AND generation = ? ORDER BY seq`, phase, generation)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StepRecord
	for rows.Next() {
		var (
			r        StepRecord
			started  string
			finished sql.NullString
		)
		if err := rows.Scan(&r.Phase, &r.Generation, &r.Name, &r.Status, &r.Attempts, &started, &finished, &r.Summary, &r.Error); err != nil {
			return nil, err
		}
		r.StartedAt = parseTime(started)
		if finished.Valid {
			t := parseTime(finished.String)
			r.FinishedAt = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) BeginStep(ctx context.Context, phase Phase, generation int, name string, e Entry) (StepRecord, error) {
	var prev StepRecord
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT status, attempts FROM steps WHERE phase = ? AND generation = ? AND name = ?`,
			phase, generation, name).Scan(&prev.Status, &prev.Attempts)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		prev.Phase, prev.Generation, prev.Name = phase, generation, name
		now := formatTime(time.Now())
		_, err = tx.ExecContext(ctx, `INSERT INTO steps (phase, generation, name, status, attempts, started_at, seq)
			VALUES (?, ?, ?, ?, 1, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps))
			ON CONFLICT (phase, generation, name) DO UPDATE SET status = excluded.status,
				attempts = steps.attempts + 1, started_at = excluded.started_at, finished_at = NULL, error = ''`,
			phase, generation, name, StepStarted, now)
		if err != nil {
			return err
		}
		return appendEntry(ctx, tx, e)
	})
	return prev, err
}

func (s *SQLiteStore) FinishStep(ctx context.Context, rec StepRecord, e Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE steps SET status = ?, finished_at = ?, summary = ?, error = ?
			WHERE phase = ? AND generation = ? AND name = ?`,
			rec.Status, formatTime(time.Now()), rec.Summary, rec.Error, rec.Phase, rec.Generation, rec.Name)
		if err != nil {
			return err
		}
		return appendEntry(ctx, tx, e)
	})
}

func (s *SQLiteStore) RecordGate(ctx context.Context, r GateResult, e Entry) error {
	evidence, err := json.Marshal(r.Evidence)
	if err != nil {
		return fmt.Errorf("encoding gate evidence: %w", err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO gates (phase, generation, gate, kind, status, reason, evidence, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Phase, r.Generation, r.Gate, r.Kind, r.Status, r.Reason, string(evidence), formatTime(r.At))
		if err != nil {
			return err
		}
		return appendEntry(ctx, tx, e)
	})
}

func (s *SQLiteStore) Gates(ctx context.Context, phase Phase, generation int) ([]GateResult, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT phase, generation, gate, kind, status, reason, evidence, at FROM gates
		WHERE id IN (SELECT MAX(id) FROM gates WHERE phase = ? AND generation = ? GROUP BY gate, kind) ORDER BY id`,
		phase, generation)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []GateResult
	for rows.Next() {
		var (
			r            GateResult
			evidence, at string
		)
		if err := rows.Scan(&r.Phase, &r.Generation, &r.Gate, &r.Kind, &r.Status, &r.Reason, &evidence, &at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(evidence), &r.Evidence); err != nil {
			return nil, fmt.Errorf("decoding evidence of gate %s: %w", r.Gate, err)
		}
		r.At = parseTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) Approve(ctx context.Context, a Approval, e Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO approvals (phase, generation, actor, reason, at) VALUES (?, ?, ?, ?, ?)`,
			a.Phase, a.Generation, a.Actor, a.Reason, formatTime(a.At))
		if err != nil {
			return err
		}
		return appendEntry(ctx, tx, e)
	})
}

func (s *SQLiteStore) Approvals(ctx context.Context, phase Phase) ([]Approval, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT phase, generation, actor, reason, at FROM approvals WHERE phase = ? ORDER BY id`, phase)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		var (
			a  Approval
			at string
		)
		if err := rows.Scan(&a.Phase, &a.Generation, &a.Actor, &a.Reason, &at); err != nil {
			return nil, err
		}
		a.At = parseTime(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) Append(ctx context.Context, e Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return appendEntry(ctx, tx, e) })
}

func (s *SQLiteStore) Journal(ctx context.Context) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, at, actor, kind, phase, generation, step, status, reason, message, data
		FROM journal ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var (
			e        Entry
			at, data string
		)
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Kind, &e.Phase, &e.Generation, &e.Step, &e.Status, &e.Reason, &e.Message, &data); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		if data != "" && data != "null" {
			if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
				return nil, fmt.Errorf("decoding journal entry %d: %w", e.Seq, err)
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) PutArtifact(ctx context.Context, key string, phase Phase, generation int, value []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO artifacts (key, phase, generation, value, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET phase = excluded.phase, generation = excluded.generation, value = excluded.value, at = excluded.at`,
		key, phase, generation, value, formatTime(time.Now()))
	return err
}

func (s *SQLiteStore) Artifact(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM artifacts WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return v, err == nil, err
}

func (s *SQLiteStore) Lock(ctx context.Context, info LockInfo) (func() error, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		holder, err := readLock(ctx, tx)
		if err != nil {
			return err
		}
		if holder != nil {
			if holder.Host != info.Host || processAlive(holder.PID) {
				return &LockedError{Holder: *holder}
			}
			// The holder died on this host, for example killed: take over
			// and record it in the journal.
			if _, err := tx.ExecContext(ctx, `DELETE FROM lock`); err != nil {
				return err
			}
			if err := appendEntry(ctx, tx, Entry{
				Actor: info.Actor, Kind: KindLock,
				Message: "released the lock of " + holder.String() + ", whose process is gone",
			}); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO lock (id, actor, host, pid, command, since) VALUES (1, ?, ?, ?, ?, ?)`,
			info.Actor, info.Host, info.PID, info.Command, formatTime(info.Since))
		return err
	})
	if err != nil {
		return nil, err
	}
	release := func() error {
		_, err := s.db.Exec(`DELETE FROM lock WHERE pid = ? AND host = ?`, info.PID, info.Host)
		return err
	}
	return release, nil
}

func (s *SQLiteStore) LockHolder(ctx context.Context) (*LockInfo, error) {
	var holder *LockInfo
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		holder, err = readLock(ctx, tx)
		return err
	})
	return holder, err
}

func readLock(ctx context.Context, tx *sql.Tx) (*LockInfo, error) {
	var (
		l     LockInfo
		since string
	)
	err := tx.QueryRowContext(ctx, `SELECT actor, host, pid, command, since FROM lock WHERE id = 1`).
		Scan(&l.Actor, &l.Host, &l.PID, &l.Command, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l.Since = parseTime(since)
	return &l, nil
}

// processAlive reports whether a process exists on this host. Signal 0
// checks without delivering anything; EPERM means it exists under another
// user.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (s *SQLiteStore) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("writing state %s: %w", s.path, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("writing state %s: %w", s.path, err)
	}
	return nil
}

func appendEntry(ctx context.Context, tx *sql.Tx, e Entry) error {
	if e.Kind == "" {
		return nil
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.Actor == "" {
		e.Actor = defaultActor()
	}
	data := []byte("null")
	if len(e.Data) > 0 {
		var err error
		if data, err = json.Marshal(e.Data); err != nil {
			return fmt.Errorf("encoding journal data: %w", err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO journal (at, actor, kind, phase, generation, step, status, reason, message, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		formatTime(e.At), e.Actor, e.Kind, e.Phase, e.Generation, e.Step, e.Status, e.Reason, e.Message, string(data))
	return err
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// defaultActor is the OS user, for entries written without one.
func defaultActor() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}
