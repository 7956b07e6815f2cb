package backend

import "testing"

func TestStatsQueue(t *testing.T) {
	st := &Stats{Queues: []QueueStats{{Name: "a", Size: 1}, {Name: "b", Size: 2}}}
	if q, ok := st.Queue("b"); !ok || q.Size != 2 {
		t.Errorf("Queue(b) = %+v, %v", q, ok)
	}
	if q, ok := st.Queue("c"); ok || q != (QueueStats{}) {
		t.Errorf("Queue(c) = %+v, %v; want not found", q, ok)
	}
}
