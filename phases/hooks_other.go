//go:build !linux

package phases

import "syscall"

// hookProcAttr starts a hook in its own process group.
// NOTE: outside Linux there is no parent-death signal, so a hook keeps
// running if migrate is killed.
func hookProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
