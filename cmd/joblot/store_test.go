package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

func TestStoreChoice(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		env       string
		wantRedis string
		wantDB    string
		wantErr   bool
	}{
		{name: "default is the file", wantDB: defaultDBPath},
		{name: "env selects redis", env: "redis://e:1", wantRedis: "redis://e:1"},
		{name: "flag beats env", args: []string{"--redis", "redis://f:1"}, env: "redis://e:1", wantRedis: "redis://f:1"},
		{name: "explicit db beats env", args: []string{"--db", "x.db"}, env: "redis://e:1", wantDB: "x.db"},
		{name: "both flags", args: []string{"--redis", "redis://f:1", "--db", "x.db"}, wantErr: true},
		{name: "empty db", args: []string{"--db", ""}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f storeFlags
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			f.register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			c, err := f.choose(func(k string) string {
				if k == redisURLEnv {
					return tc.env
				}
				return ""
			})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if c.redisURL != tc.wantRedis || c.dbPath != tc.wantDB {
				t.Errorf("choice = %+v, want redis %q db %q", c, tc.wantRedis, tc.wantDB)
			}
		})
	}
}

func TestUnreachableRedisIsAnErrorNotAFallBack(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, env := range []map[string]string{nil, {redisURLEnv: "redis://127.0.0.1:1"}} {
		a := []string{"stats"}
		if env == nil {
			a = append(a, "--redis", "redis://127.0.0.1:1")
		}
		r := runCmd(t, env, a...)
		if r.code == 0 {
			t.Fatalf("stats against an unreachable Redis succeeded:\n%s", r.stdout)
		}
		if !contains(r.stderr, "never replaced by the embedded file") {
			t.Errorf("stderr %q does not say the file is not used instead", r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "joblot.db")); err == nil {
			t.Fatalf("an unreachable Redis made joblot create ./joblot.db")
		}
	}
}
