package queue

import (
	"fmt"
	"os"
	"path/filepath"
)

// syncDir fsyncs the directory, so that file creations, renames and
// removals in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("queue: opening directory %s to fsync it: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("queue: fsync of directory %s failed: %w", dir, err)
	}
	return nil
}

// writePosition replaces the position file atomically: it writes a
// temporary file, fsyncs it, renames it over the old one and fsyncs the
// directory (both fsyncs skipped with noSync). A crash leaves either the old
// or the new position.
func writePosition(dir string, p position, noSync bool) error {
	tmp := filepath.Join(dir, positionTempName)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("queue: saving the consumer position: %w", err)
	}
	_, err = f.Write(encodePosition(p))
	if err == nil && !noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, positionFileName))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("queue: saving the consumer position in %s: %w", dir, err)
	}
	if noSync {
		return nil
	}
	return syncDir(dir)
}

// readPosition reads the position file; ok is false when it does not exist.
func readPosition(dir string) (p position, ok bool, err error) {
	path := filepath.Join(dir, positionFileName)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return position{}, false, nil
	}
	if err != nil {
		return position{}, false, fmt.Errorf("queue: reading the consumer position: %w", err)
	}
	p, err = decodePosition(b)
	if err != nil {
		return position{}, false, &CorruptError{File: path, Offset: 0, Reason: err.Error()}
	}
	return p, true, nil
}
