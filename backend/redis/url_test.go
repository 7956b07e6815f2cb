package redis

import (
	"slices"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	o, err := ParseURL("redis-sentinel://user:pw@s1:26379,s2:26380/mymaster?db=2")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.InitAddress, []string{"s1:26379", "s2:26380"}) || o.Sentinel.MasterSet != "mymaster" ||
		o.SelectDB != 2 || o.Username != "user" || o.Password != "pw" || o.Sentinel.Password != "pw" {
		t.Fatalf("sentinel options: %+v", o)
	}
	for _, bad := range []string{"redis-sentinel://s1:26379", "redis-sentinel:///m", "http://x", "redis-sentinel://s1/m?db=x"} {
		if _, err := ParseURL(bad); err == nil {
			t.Fatalf("ParseURL(%q) accepted", bad)
		}
	}
	o, err = ParseURL("rediss://h:6380/1")
	if err != nil || o.TLSConfig == nil || o.SelectDB != 1 || o.InitAddress[0] != "h:6380" {
		t.Fatalf("rediss: %+v, %v", o, err)
	}
}

func TestRedactURL(t *testing.T) {
	if got := RedactURL("redis://user:s3cret@h:1/0"); strings.Contains(got, "s3cret") || !strings.Contains(got, "h:1") {
		t.Errorf("RedactURL = %q", got)
	}
}

func TestParseURLErrorsHideThePassword(t *testing.T) {
	for _, bad := range []string{
		"redis://u:s3cret@h:1/notadb",
		"redis-sentinel://u:s3cret@s1:26379",
		"redis-sentinel://u:s3cret@s1:26379/m?db=x",
		"redis-sentinel://u:s3cret@[::1/m",
		"ftp://u:s3cret@h",
		"redis://u:s3cret@[::1",
	} {
		_, err := ParseURL(bad)
		if err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseURL(%q) error leaks the password: %v", bad, err)
		}
	}
}
