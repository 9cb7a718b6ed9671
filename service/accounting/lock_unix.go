//go:build unix

package accounting

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive flock(2) on f without waiting. The kernel
// releases it when the process dies, however it dies.
func lockFile(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB) }); err != nil {
		return err
	}
	return lerr
}
