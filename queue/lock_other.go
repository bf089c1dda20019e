//go:build !unix

package queue

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir opens dir/LOCK.
// NOTE: outside Unix there is no lock, so two Queues on one directory are
// not detected.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("queue: opening lock file: %w", err)
	}
	return f, nil
}

func unlockDir(f *os.File) error {
	return f.Close()
}
