package consultest

import (
	"os"
	"syscall"
	"time"
)

// Terminate ends a process as an operator would: SIGTERM, then SIGKILL if it
// has not exited within grace. done is closed once the process has been
// waited for; Terminate returns when it is.
func Terminate(p *os.Process, done <-chan struct{}, grace time.Duration) {
	p.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		p.Kill()
		<-done
	}
}
