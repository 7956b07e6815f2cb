package main

import (
	"testing"
)

func TestDemo(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			out := mustRun(t, args(store, "demo", "--jobs", "2000")...)
			for _, want := range []string{
				"thumbnails", "invoices", "report", "child batch",
				"callbacks fired: complete (+", "complete (+", "success (+", "death (+",
				// Five failure shapes with ids in every message: five groups.
				"error groups (5):", "charge ch_", "card declined for customer cus_", "payment gateway timeout", "invalid currency",
				"account", "is frozen", "rate limited by payment provider",
				"demo finished",
			} {
				if !contains(out, want) {
					t.Errorf("demo output lacks %q", want)
				}
			}
			if name == "redis" && !contains(out, "MEMORY USAGE") {
				t.Errorf("demo on Redis does not report batch key memory")
			}
			if name == "file" && !contains(out, "file size") {
				t.Errorf("demo on the file store does not report the file size")
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}
