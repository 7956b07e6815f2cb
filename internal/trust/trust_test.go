//go:build unix

package trust_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/trust"
)

// nobody is the uid that stands for "another local user" in these tests.
const nobody = 65534

// other is a uid that is not this process's.
func other() int {
	if os.Geteuid() == nobody {
		return nobody + 1
	}
	return nobody
}

func writeFile(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // not subject to the umask
		t.Fatal(err)
	}
}

func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "mine")
	writeFile(t, mine, 0o644)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(mine, link); err != nil {
		t.Fatal(err)
	}
	self := trust.Self()
	cases := []struct {
		name   string
		path   string
		mode   os.FileMode
		policy trust.Policy
		want   error
	}{
		{"own file, others read only", mine, 0o644, self, nil},
		{"own file, private", mine, 0o600, self, nil},
		{"symbolic link", link, 0o600, self, backend.ErrSymlink},
		{"group-writable", mine, 0o660, self, backend.ErrWritableByOthers},
		{"world-writable", mine, 0o606, self, backend.ErrWritableByOthers},
		// The file is ours; a policy that trusts only another uid sees it
		// as another user's, which is what a planted file looks like.
		{"another user's", mine, 0o600, trust.ForUIDs(other()), backend.ErrForeignOwner},
		{"another user's, allowed", mine, 0o600, trust.ForUIDs(other(), os.Geteuid()), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Chmod(mine, tc.mode); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			err = tc.policy.CheckFile(tc.path, fi)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckFile = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, backend.ErrUntrusted) {
				t.Fatalf("CheckFile = %v, want %v (and ErrUntrusted)", err, tc.want)
			}
		})
	}
}

// OpenFile never follows a symbolic link in place of the file, even one
// that dangles (where O_CREATE would otherwise create its target), and
// leaves the target alone.
func TestOpenFileRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim")
	writeFile(t, target, 0o600)
	link := filepath.Join(dir, "store")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if f, err := trust.Self().OpenFile(link, os.O_RDWR|os.O_CREATE, 0o600); !errors.Is(err, backend.ErrSymlink) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("OpenFile(symlink) = %v, want ErrSymlink", err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "created-by-the-link"), dangling); err != nil {
		t.Fatal(err)
	}
	if f, err := trust.Self().OpenFile(dangling, os.O_RDWR|os.O_CREATE, 0o600); !errors.Is(err, backend.ErrSymlink) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("OpenFile(dangling symlink) = %v, want ErrSymlink", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "created-by-the-link")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the dangling link's target was created: %v", err)
	}
}

// OpenFile checks the file it opened: a world-writable one is closed and
// refused.
func TestOpenFileChecksTheOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store")
	writeFile(t, path, 0o666)
	if f, err := trust.Self().OpenFile(path, os.O_RDWR, 0); !errors.Is(err, backend.ErrWritableByOthers) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("OpenFile(0666) = %v, want ErrWritableByOthers", err)
	}
	f, err := trust.Self().OpenFile(filepath.Join(t.TempDir(), "new"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatalf("OpenFile(new file) = %v", err)
	}
	f.Close()
}

// A file really owned by another user is refused unless that user is
// allowed. Needs root to give a file away.
func TestCheckFileOwnedByAnotherUser(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store")
	writeFile(t, path, 0o600)
	if err := os.Chown(path, other(), other()); err != nil {
		t.Skipf("cannot give a file to another user (not root?): %v", err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := trust.Self().CheckFile(path, fi); !errors.Is(err, backend.ErrForeignOwner) {
		t.Fatalf("CheckFile(another user's file) = %v, want ErrForeignOwner", err)
	}
	allowed, err := trust.New(strconv.Itoa(other()))
	if err != nil {
		t.Fatal(err)
	}
	if err := allowed.CheckFile(path, fi); err != nil {
		t.Fatalf("CheckFile(another user's file, that user allowed) = %v", err)
	}
}

func TestNew(t *testing.T) {
	p, err := trust.New("")
	if err != nil || !p.Allows(os.Geteuid()) || p.Allows(other()) {
		t.Fatalf("New(\"\") = %v, %v; want only this process's uid", p, err)
	}
	p, err = trust.New(strconv.Itoa(other()))
	if err != nil || !p.Allows(os.Geteuid()) || !p.Allows(other()) {
		t.Fatalf("New(uid) = %v, %v; want this process's uid and that one", p, err)
	}
	if _, err := trust.New("no-such-user-joblot"); err == nil {
		t.Fatal("New(unknown user) succeeded")
	}
	if (trust.Policy{}).Allows(os.Geteuid()) {
		t.Fatal("the zero Policy trusts someone")
	}
}

// CheckPeer reads the connecting (or listening) process's uid from the
// kernel; with an injected policy that trusts only another uid, our own
// process at the other end is refused, as another user's would be.
func TestCheckPeer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peer credentials are read on Linux only")
	}
	path := filepath.Join(shortDir(t), "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	defer s.Close()
	for _, conn := range []net.Conn{c, s} {
		if err := trust.Self().CheckPeer(conn, path); err != nil {
			t.Errorf("CheckPeer(own process) = %v", err)
		}
		if err := trust.ForUIDs(other()).CheckPeer(conn, path); !errors.Is(err, backend.ErrForeignOwner) {
			t.Errorf("CheckPeer(peer of an untrusted uid) = %v, want ErrForeignOwner", err)
		}
	}
}

// shortDir returns a fresh directory with a short path, for a unix socket.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "jlt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
