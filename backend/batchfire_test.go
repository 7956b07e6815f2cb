package backend

import (
	"testing"
	"time"
)

func TestBatchGateDue(t *testing.T) {
	type due struct{ complete, settled, success bool }
	cases := []struct {
		name string
		g    BatchGate
		want due
	}{
		{"uncommitted", BatchGate{Total: 0}, due{}},
		{"expired", BatchGate{Committed: true, Expired: true}, due{}},
		{"empty batch fires all three", BatchGate{Committed: true}, due{true, true, true}},
		{"pending", BatchGate{Committed: true, Total: 2, Pending: 1, Succeeded: 1}, due{}},
		{"complete while retrying, not settled", BatchGate{Committed: true, Total: 2, Failing: 1, Succeeded: 1}, due{complete: true}},
		{"retrying after complete", BatchGate{Committed: true, Complete: true, Total: 2, Failing: 1, Succeeded: 1}, due{}},
		{"last retrying job died", BatchGate{Committed: true, Complete: true, Total: 2, Succeeded: 1}, due{settled: true}},
		{"last retrying job succeeded", BatchGate{Committed: true, Complete: true, Total: 2, Succeeded: 2}, due{settled: true, success: true}},
		{"settled fires once", BatchGate{Committed: true, Complete: true, Settled: true, Total: 2, Succeeded: 1}, due{}},
		{"manual retry after settled un-fires nothing", BatchGate{Committed: true, Complete: true, Settled: true, Total: 2, Succeeded: 2}, due{success: true}},
		{"cancelled: settles, never succeeds", BatchGate{Committed: true, Complete: true, Cancelled: true, Total: 2, Succeeded: 1}, due{settled: true}},
		{"waits for a child's settled", BatchGate{Committed: true, Complete: true, Total: 2, Succeeded: 1, KidsSettled: 1}, due{}},
		{"success fires settled with it", BatchGate{Committed: true, Complete: true, Total: 2, Succeeded: 2, KidsSettled: 1}, due{settled: true, success: true}},
		{"not complete: no settled", BatchGate{Committed: true, Total: 1, KidsComplete: 1}, due{}},
	}
	for _, c := range cases {
		var got due
		got.complete, got.settled, got.success = c.g.Due()
		if got != c.want {
			t.Errorf("%s: Due() = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestBatchStatusSummary(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_000)
	cases := []struct {
		st   BatchStatus
		want string
	}{
		{BatchStatus{State: BatchRunning, Pending: 5}, "running"},
		{BatchStatus{State: BatchRunning, Pending: 5, Failing: 12}, "running, 12 retrying"},
		{BatchStatus{State: BatchComplete, CompleteAt: at, Failing: 548, Dead: 2}, "complete, 548 retrying"},
		{BatchStatus{State: BatchComplete, CompleteAt: at, Pending: 3, Failing: 2}, "complete, 3 pending, 2 retrying"},
		{BatchStatus{State: BatchComplete, CompleteAt: at, SettledAt: at, Dead: 2}, "complete, settled"},
		{BatchStatus{State: BatchComplete, CompleteAt: at, SettledAt: at, Failing: 1}, "complete, 1 retrying"},
		{BatchStatus{State: BatchComplete, CompleteAt: at, Children: []string{"c"}}, "complete, waiting for child batches"},
		{BatchStatus{State: BatchComplete, CompleteAt: at}, "complete, settled"}, // settled before the flag existed
		{BatchStatus{State: BatchCancelled, Pending: 40}, "cancelled, 40 pending"},
		{BatchStatus{State: BatchCancelled}, "cancelled"},
		{BatchStatus{State: BatchSucceeded, SettledAt: at}, "success"},
		{BatchStatus{State: BatchExpired}, "expired"},
	}
	for _, c := range cases {
		if got := c.st.Summary(); got != c.want {
			t.Errorf("Summary(%+v) = %q, want %q", c.st, got, c.want)
		}
	}
}
