package redistest

import (
	"fmt"
	"os/exec"
)

// Kill SIGKILLs the server and waits for it, keeping what Restart needs:
// the same binary, arguments, directory and port.
func (s *Server) Kill() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return fmt.Errorf("redistest: server on %s is not running", s.Addr)
	}
	s.last = s.cmd
	s.Stop()
	return nil
}

// Restart starts the server again after Kill (or kills it first), with the
// same arguments in the same directory on the same port, so an AOF or RDB
// file it wrote is loaded again, and waits until it answers. A Redis
// started with "--appendonly yes" thus shows what survives a crash.
func (s *Server) Restart() error {
	if s.cmd != nil {
		if err := s.Kill(); err != nil {
			return err
		}
	}
	if s.last == nil {
		return fmt.Errorf("redistest: server on %s was never started", s.Addr)
	}
	ns, err := newServer(exec.Command(s.last.Path, s.last.Args[1:]...), s.Addr, s.dir)
	if err != nil {
		return fmt.Errorf("redistest: restart: %w", err)
	}
	s.cmd, s.exited = ns.cmd, ns.exited
	if err := s.waitReady(readyTimeout); err != nil {
		return fmt.Errorf("redistest: restart on %s: %w", s.Addr, err)
	}
	return nil
}
