//go:build !linux

package redistest

import "os/exec"

// dieWithTest does nothing where the kernel cannot tie a server's life to
// the test process's: the test's cleanups stop the servers.
func dieWithTest(*exec.Cmd) {}
