package redistest

import (
	"os/exec"
	"syscall"
)

// dieWithTest has the kernel kill a server when the test process dies
// (killed, or its output pipe closed) without running its cleanups, so
// that no server outlives it on a shared machine.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
