package promtest

import "syscall"

// sysProcAttr makes the kernel kill Prometheus if the test binary dies without running its cleanups (a
// `go test -timeout` panic, a SIGKILL), so no orphan keeps running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
