package phases

import "syscall"

// hookProcAttr starts a hook in its own process group, and asks the kernel
// to kill it when migrate dies: a hook left running after a crash would
// race the hook the restarted apply runs again.
func hookProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
