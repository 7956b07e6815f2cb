package main

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

func TestMigrate(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			s := ts.flags
			b := ts.open(t)
			seed(t, b, []seedSpec{{set: backend.SetScheduled, queue: "q", kind: "K", n: 1}})
			b.Close()

			// A store written by this joblot is up to date, dry run or not.
			for _, extra := range [][]string{nil, {"--dry-run"}} {
				out := mustRun(t, args(s, append([]string{"migrate"}, extra...)...)...)
				if !contains(out, fmt.Sprintf("up to date (version %d)", backend.DataModelVersion)) {
					t.Errorf("migrate %v on a current store: %q", extra, out)
				}
			}
			res := decode(t, mustRun(t, args(s, "migrate", "--json")...))
			if num(t, res, "version") != backend.DataModelVersion || num(t, res, "current") != backend.DataModelVersion || len(res["steps"].([]any)) != 0 || res["applied"] != false {
				t.Errorf("migrate --json on a current store: %v", res)
			}

			// A store claiming a newer data model is refused.
			setVersion(t, ts, backend.DataModelVersion+1)
			r := runCmd(t, nil, args(s, "migrate")...)
			if r.code == 0 || !contains(r.stderr, backend.ErrVersionTooNew.Error()) {
				t.Errorf("migrate on a newer store: exit %d, stderr %q; want %q", r.code, r.stderr, backend.ErrVersionTooNew)
			}
		})
	}
}

// setVersion overwrites a store's data-model version record.
func setVersion(t *testing.T, ts testStore, v int) {
	t.Helper()
	if ts.srv != nil {
		redisDo(t, redisClient(t, ts.srv), "SET", "jl:version", strconv.Itoa(v))
		return
	}
	db, err := bbolt.Open(ts.flags[1], 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("version"), binary.AppendUvarint(nil, uint64(v)))
	}); err != nil {
		t.Fatal(err)
	}
}

// A file owned by a running process is not migrated under it; the error
// names the owner.
func TestMigrateRefusesAnOwnedFile(t *testing.T) {
	path := filepath.Join(shortDir(t), "joblot.db")
	pid, _ := startOwner(t, path, true)
	r := runCmd(t, nil, "migrate", "--db", path)
	if want := fmt.Sprintf("owned by a running process (pid %d): stop it to migrate", pid); r.code == 0 || !contains(r.stderr, want) {
		t.Errorf("migrate on an owned file: exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}
}
