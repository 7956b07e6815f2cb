package redis

import (
	"slices"
	"testing"
)

func TestParseURL(t *testing.T) {
	o, err := parseURL("redis-sentinel://user:pw@s1:26379,s2:26380/mymaster?db=2")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.InitAddress, []string{"s1:26379", "s2:26380"}) || o.Sentinel.MasterSet != "mymaster" ||
		o.SelectDB != 2 || o.Username != "user" || o.Password != "pw" {
		t.Fatalf("sentinel options: %+v", o)
	}
	for _, bad := range []string{"redis-sentinel://s1:26379", "redis-sentinel:///m", "http://x", "redis-sentinel://s1/m?db=x"} {
		if _, err := parseURL(bad); err == nil {
			t.Fatalf("parseURL(%q) accepted", bad)
		}
	}
	o, err = parseURL("rediss://h:6380/1")
	if err != nil || o.TLSConfig == nil || o.SelectDB != 1 || o.InitAddress[0] != "h:6380" {
		t.Fatalf("rediss: %+v, %v", o, err)
	}
}
