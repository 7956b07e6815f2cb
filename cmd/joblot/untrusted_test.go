//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/remote"
)

// plantedSocketEnv tells TestPlantedSocketProcess where to listen.
const plantedSocketEnv = "JOBLOT_CLI_TEST_PLANTED_SOCKET"

// nobodyUID stands for another local user.
const nobodyUID = 65534

// TestPlantedSocketProcess is the other user's side of
// TestPlantedSocketRefused: it listens on the given socket path, prints
// "ready", and then how many bytes the first connection sent before it
// closed (0: nothing). It does nothing in a normal test run.
func TestPlantedSocketProcess(t *testing.T) {
	path := os.Getenv(plantedSocketEnv)
	if path == "" {
		return
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("planted socket: %v", err)
	}
	defer l.Close()
	fmt.Println("ready")
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("planted socket: %v", err)
	}
	n, _ := c.Read(make([]byte, 4096))
	fmt.Printf("received %d\n", n)
	_ = c.Close()
}

// requireRoot skips a test that needs to act as another user.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("acting as another user needs root")
	}
}

// A socket another user planted next to the store (here: a process really
// running as nobody) gets nothing from a command, not even the request:
// the command fails with a clear error instead.
func TestPlantedSocketRefused(t *testing.T) {
	requireRoot(t)
	dir := shortDir(t)
	// The other user may create files here, as in a shared directory.
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	// A copy of the test binary the other user can run.
	exe := filepath.Join(dir, "planter")
	copyExecutable(t, os.Args[0], exe)
	path := filepath.Join(dir, "joblot.db")

	cmd := exec.Command(exe, "-test.run=^TestPlantedSocketProcess$")
	cmd.Env = append(os.Environ(), plantedSocketEnv+"="+remote.SocketPath(path))
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyUID, Gid: nobodyUID}}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	r := bufio.NewReader(out)
	if line, err := r.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("planted socket process: %q, %v", line, err)
	}

	res := runCmd(t, nil, "dead", "delete", "--all", "--db", path)
	if res.code == 0 {
		t.Fatalf("dead delete --all through a planted socket succeeded:\n%s", res.stdout)
	}
	if !contains(res.stderr, "runs as uid "+strconv.Itoa(nobodyUID)) || !contains(res.stderr, "owned by another user") {
		t.Errorf("stderr %q does not say the endpoint belongs to another user", res.stderr)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("planted socket process: %v", err)
	}
	if strings.TrimSpace(line) != "received 0" {
		t.Fatalf("planted socket process: %q, want it to receive nothing", line)
	}
}

// A store file owned by another user is refused by the commands unless
// --allow-owner names that user.
func TestAllowOwnerFlag(t *testing.T) {
	requireRoot(t)
	path := filepath.Join(shortDir(t), "joblot.db")
	b, err := bolt.Open(path, bolt.Options{NoSync: true, NoLocalEndpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, nobodyUID, nobodyUID); err != nil {
		t.Fatal(err)
	}
	res := runCmd(t, nil, "stats", "--db", path)
	if res.code == 0 || !contains(res.stderr, "owned by another user") || !contains(res.stderr, "--allow-owner") {
		t.Fatalf("stats on another user's store: exit %d, stderr %q; want a refusal that names --allow-owner", res.code, res.stderr)
	}
	mustRun(t, "stats", "--db", path, "--allow-owner", strconv.Itoa(nobodyUID))
}

// copyExecutable copies the file at src to dst, executable by anyone.
func copyExecutable(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	outf, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(outf, in); err != nil {
		t.Fatal(err)
	}
	if err := outf.Close(); err != nil {
		t.Fatal(err)
	}
}
