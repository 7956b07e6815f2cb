package web

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/watchdog"
)

// memoryView is the store's memory and the watchdog level it means.
type memoryView struct {
	Info  backend.MemoryInfo
	Level string
	Err   string
}

// readMemory reads the store's memory, if the dashboard has a reporter.
func (h *handler) readMemory(ctx context.Context) *memoryView {
	if h.opts.Memory == nil {
		return nil
	}
	// A watchdog of its own, checked once: the level the server's
	// watchdog would be at with the default budget.
	wd := watchdog.New(h.opts.Memory, watchdog.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	level, info, err := wd.Check(ctx)
	if err != nil {
		return &memoryView{Err: err.Error()}
	}
	return &memoryView{Info: info, Level: level.String()}
}

// overviewView is the overview page.
type overviewView struct {
	Stats  *backend.Stats
	Memory *memoryView
	// Totals over the queues.
	Size, Scheduled, Retry, Dead, InFlight int64
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	st, err := h.in.Stats(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := overviewView{Stats: st, Memory: h.readMemory(r.Context())}
	for _, q := range st.Queues {
		v.Size += q.Size
		v.Scheduled += q.Scheduled
		v.Retry += q.Retry
		v.Dead += q.Dead
		v.InFlight += q.InFlight
	}
	h.render(w, r, "overview", "Overview", v)
}

// chartData is what the overview's chart plots: uPlot's columns, X in
// Unix seconds. Step names the bucket width: "minute", from the stores'
// per-minute counters.
type chartData struct {
	Step      string    `json:"step"`
	X         []int64   `json:"x"`
	Processed []float64 `json:"processed"`
	Failed    []float64 `json:"failed"`
}

// chartSeries returns the overview's chart: processed and failed attempts
// per minute, all queues summed, oldest first, over the day the stores
// keep (backend.ThroughputWindow). Minutes with nothing finished are
// plotted as zero, so the line does not skip idle time.
func chartSeries(points []backend.ThroughputPoint, until time.Time) chartData {
	c := chartData{Step: "minute", X: []int64{}, Processed: []float64{}, Failed: []float64{}}
	end := until.Truncate(time.Minute)
	start := end.Add(-backend.ThroughputWindow + time.Minute)
	n := int(end.Sub(start)/time.Minute) + 1
	c.X = make([]int64, n)
	c.Processed = make([]float64, n)
	c.Failed = make([]float64, n)
	for k := range n {
		c.X[k] = start.Add(time.Duration(k) * time.Minute).Unix()
	}
	for _, p := range points {
		k := int(p.Minute.Sub(start) / time.Minute)
		if k < 0 || k >= n {
			continue
		}
		c.Processed[k] += float64(p.Processed)
		c.Failed[k] += float64(p.Failed)
	}
	return c
}

// now is the Inspector's clock (the wall clock unless it injects one).
func (h *handler) now() time.Time {
	if h.in.Now != nil {
		return h.in.Now()
	}
	return time.Now()
}

func (h *handler) chartJSON(w http.ResponseWriter, r *http.Request) {
	until := h.now()
	res, err := h.in.Throughput(r.Context(), backend.ThroughputParams{Since: until.Add(-backend.ThroughputWindow), Until: until})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(chartSeries(res.Points, until))
}

// processRow is a live process and the jobs it holds in flight.
type processRow struct {
	backend.ProcessInfo
	// Jobs are its in-flight jobs, at most maxProcessJobRows; More says
	// it holds more. NoJobs says the store cannot list them.
	Jobs   []*backend.Job
	More   bool
	NoJobs bool
}

func (h *handler) processes(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, err := h.in.Stats(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows := make([]processRow, 0, len(st.Processes))
	for _, p := range st.Processes {
		row := processRow{ProcessInfo: p}
		res, err := h.in.ProcessJobs(ctx, p.ID, maxProcessJobRows)
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			row.NoJobs = true
		case err != nil:
			h.fail(w, r, err)
			return
		default:
			row.Jobs, row.More = res.Jobs, res.More
		}
		rows = append(rows, row)
	}
	h.render(w, r, "processes", "Processes", rows)
}

// formValue reads a state-changing request's form and its required field
// name, answering 400 (with missing as the reason when it is empty) and
// false when it cannot.
func formValue(w http.ResponseWriter, r *http.Request, name, missing string) (string, bool) {
	form, err := postForm(r)
	if err != nil {
		badRequest(w, err.Error())
		return "", false
	}
	v := form.Get(name)
	if v == "" {
		badRequest(w, missing)
		return "", false
	}
	return v, true
}

// stopProcess asks a process to stop gracefully; it reads the request on
// its next heartbeat.
func (h *handler) stopProcess(w http.ResponseWriter, r *http.Request) {
	id, ok := formValue(w, r, "id", "no process id")
	if !ok {
		return
	}
	if err := h.in.StopProcess(r.Context(), id); err != nil {
		if errors.Is(err, backend.ErrProcessNotFound) {
			http.Error(w, "no live process has that id", http.StatusNotFound)
			return
		}
		h.fail(w, r, err)
		return
	}
	h.redirectBack(w, r, h.base+"/processes")
}

func (h *handler) quietProcess(w http.ResponseWriter, r *http.Request) {
	id, ok := formValue(w, r, "id", "no process id")
	if !ok {
		return
	}
	if err := h.in.QuietProcess(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirectBack(w, r, h.base+"/processes")
}

func (h *handler) queues(w http.ResponseWriter, r *http.Request) {
	st, err := h.in.Stats(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, "queues", "Queues", st.Queues)
}

func (h *handler) pauseQueue(pause bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, ok := formValue(w, r, "queue", "no queue")
		if !ok {
			return
		}
		var err error
		if pause {
			err = h.in.PauseQueue(r.Context(), q)
		} else {
			err = h.in.ResumeQueue(r.Context(), q)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.redirectBack(w, r, h.base+"/queues")
	}
}

// confirmView is a confirmation page: what will happen, to how many jobs.
type confirmView struct {
	// Action is the verb shown ("clear", "retry", "delete").
	Action string
	// What describes the target ("queue q", "dead jobs matching ...").
	What string
	// Count is the number of jobs; AtLeast says the count stopped at the
	// budget.
	Count   int64
	AtLeast bool
	// Post is the form's action; Fields its hidden fields.
	Post   string
	Fields url.Values
	// Back is where Cancel goes.
	Back string
}

func (h *handler) clearQueueConfirm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("queue")
	st, err := h.in.Stats(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	qs, ok := st.Queue(q)
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.render(w, r, "confirm", "Clear queue", confirmView{Action: "clear", What: "waiting jobs of queue " + q,
		Count: qs.Size, Post: h.base + "/queues/clear", Fields: url.Values{"queue": {q}}, Back: h.base + "/queues"})
}

func (h *handler) clearQueue(w http.ResponseWriter, r *http.Request) {
	q, ok := formValue(w, r, "queue", "no queue")
	if !ok {
		return
	}
	if _, err := h.in.ClearQueue(r.Context(), q); err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirectBack(w, r, h.base+"/queues")
}

// parseSet reads a set name from the path.
func parseSet(s string) (backend.JobSet, bool) {
	switch set := backend.JobSet(s); set {
	case backend.SetQueued, backend.SetScheduled, backend.SetRetry, backend.SetDead:
		return set, true
	}
	return "", false
}

// filterFrom reads a job filter from a query or form: queue, kind, batch,
// group (error fingerprint), q (error text), cursor.
// A field sent as "name~" is percent-encoded (filterField).
func filterFrom(set backend.JobSet, v url.Values) backend.JobFilter {
	get := func(k string) string {
		if s := v.Get(k); s != "" || !v.Has(k+"~") {
			return s
		}
		s, err := url.QueryUnescape(v.Get(k + "~"))
		if err != nil {
			return v.Get(k + "~")
		}
		return s
	}
	return backend.JobFilter{Set: set, Queue: get("queue"), Kind: get("kind"), BatchID: get("batch"),
		ErrorFingerprint: get("group"), ErrorContains: get("q"), Cursor: v.Get("cursor")}
}

// filterValues is the query string of a filter (without its cursor).
func filterValues(f backend.JobFilter) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"queue": f.Queue, "kind": f.Kind, "batch": f.BatchID, "group": f.ErrorFingerprint, "q": f.ErrorContains} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// jobsView is a page of one set.
type jobsView struct {
	Set      backend.JobSet
	Filter   backend.JobFilter
	Filtered bool
	Jobs     []*backend.Job
	// Total is the set's size over the queues of the filter (Stats).
	Total int64
	// Next and First are the pagination links ("" when none).
	Next, First string
	// Self is the page's link, for the forms to come back to.
	Self string
	// Query is the filter's query string, for the bulk action links.
	Query string
	// Partial says the page stopped after examining Budget stored jobs:
	// more may match beyond Next.
	Partial bool
	Budget  int
}

func (h *handler) jobs(w http.ResponseWriter, r *http.Request) {
	set, ok := parseSet(r.PathValue("set"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	f := filterFrom(set, r.URL.Query())
	f.Limit = h.opts.PageSize
	f.ScanBudget = max(h.opts.CountBudget, f.Limit)
	page, err := h.in.Page(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := h.in.Stats(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	fv := filterValues(f)
	v := jobsView{Set: set, Filter: f, Filtered: len(fv) > 0, Jobs: page.Jobs, Query: fv.Encode(),
		Self: h.base + r.URL.RequestURI(), Partial: page.Partial, Budget: f.ScanBudget}
	for _, q := range st.Queues {
		if f.Queue != "" && q.Name != f.Queue {
			continue
		}
		switch set {
		case backend.SetQueued:
			v.Total += q.Size
		case backend.SetScheduled:
			v.Total += q.Scheduled
		case backend.SetRetry:
			v.Total += q.Retry
		case backend.SetDead:
			v.Total += q.Dead
		}
	}
	if page.Next != "" {
		nv := filterValues(f)
		nv.Set("cursor", page.Next)
		v.Next = h.link("/jobs/"+string(set), nv)
	}
	if f.Cursor != "" {
		v.First = h.link("/jobs/"+string(set), fv)
	}
	h.render(w, r, "jobs", setTitle(set), v)
}

// setTitle names a set for a page title.
func setTitle(s backend.JobSet) string {
	switch s {
	case backend.SetQueued:
		return "Queued"
	case backend.SetScheduled:
		return "Scheduled"
	case backend.SetRetry:
		return "Retries"
	case backend.SetDead:
		return "Dead"
	}
	return string(s)
}

// countMatching counts the jobs matching f, reading at most budget.
func (h *handler) countMatching(ctx context.Context, f backend.JobFilter) (int64, bool, error) {
	var n int64
	f.Cursor = ""
	for _, err := range h.in.Jobs(ctx, f) {
		if err != nil {
			return n, false, err
		}
		n++
		if n >= int64(h.opts.CountBudget) {
			return n, true, nil
		}
	}
	return n, false, nil
}

// jobsConfirm asks before retrying or deleting every job matching a filter.
func (h *handler) jobsConfirm(w http.ResponseWriter, r *http.Request) {
	set, ok := parseSet(r.PathValue("set"))
	if !ok || set == backend.SetQueued {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	action := q.Get("action")
	if action != "retry" && action != "delete" {
		badRequest(w, "action must be retry or delete")
		return
	}
	f := filterFrom(set, q)
	n, atLeast, err := h.countMatching(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	fields := filterValues(f)
	fields.Set("action", action)
	fields.Set("scope", "filter")
	what := string(set) + " jobs"
	if len(filterValues(f)) > 0 {
		what += " matching the filter"
	}
	h.render(w, r, "confirm", "Confirm", confirmView{Action: action, What: what, Count: n, AtLeast: atLeast,
		Post: h.link("/jobs/"+string(set)+"/act", nil), Fields: fields, Back: h.link("/jobs/"+string(set), filterValues(f))})
}

// jobsAct retries or deletes one job (scope one: queue, id), the jobs of a
// page (scope page: pairs of jq and id) or every job matching a filter
// (scope filter).
func (h *handler) jobsAct(w http.ResponseWriter, r *http.Request) {
	set, ok := parseSet(r.PathValue("set"))
	if !ok || set == backend.SetQueued {
		http.NotFound(w, r)
		return
	}
	form, err := postForm(r)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	action := form.Get("action")
	if action != "retry" && action != "delete" {
		badRequest(w, "action must be retry or delete")
		return
	}
	ctx := r.Context()
	switch form.Get("scope") {
	case "one", "page":
		ids, queues := form["id"], form["jq"]
		if len(ids) == 0 || len(ids) != len(queues) {
			badRequest(w, "no jobs, or ids and queues do not pair up")
			return
		}
		for i, id := range ids {
			if action == "retry" {
				_, err = h.in.RetryJob(ctx, set, queues[i], id)
			} else {
				_, err = h.in.DeleteJob(ctx, set, queues[i], id)
			}
			if err != nil {
				h.fail(w, r, err)
				return
			}
		}
	case "filter":
		f := filterFrom(set, form)
		f.Cursor = ""
		if action == "retry" {
			_, err = h.in.RetryJobs(ctx, f)
		} else {
			_, err = h.in.DeleteJobs(ctx, f)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
	default:
		badRequest(w, "scope must be one, page or filter")
		return
	}
	h.redirectBack(w, r, h.link("/jobs/"+string(set), filterValues(filterFrom(set, form))))
}

// jobView is one job's page.
type jobView struct {
	Job *backend.Job
	Set backend.JobSet
}

func (h *handler) job(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	j, set, err := h.in.Job(r.Context(), q.Get("queue"), q.Get("id"))
	if err != nil {
		if errorsIsNotFound(err) {
			http.NotFound(w, r)
			return
		}
		h.fail(w, r, err)
		return
	}
	h.render(w, r, "job", "Job", jobView{Job: j, Set: set})
}

// batchRow is a batch in the list, with its progress.
type batchRow struct {
	*backend.BatchStatus
	// Done is the jobs in a final state.
	Done int64
}

func row(b *backend.BatchStatus) batchRow {
	return batchRow{BatchStatus: b, Done: b.Succeeded + b.Dead + b.Discarded + b.Cancelled + b.Removed}
}

// batchesView is a page of batches.
type batchesView struct {
	Batches []batchRow
	Next    string
}

func (h *handler) batches(w http.ResponseWriter, r *http.Request) {
	opts := backend.BatchListOptions{Limit: h.opts.PageSize}
	if b := r.URL.Query().Get("before"); b != "" {
		ns, err := strconv.ParseInt(b, 10, 64)
		if err != nil {
			badRequest(w, "before must be Unix nanoseconds")
			return
		}
		opts.Before = time.Unix(0, ns)
		// The keyset cursor's second half: batches created in the same
		// instant as the previous page's last are not skipped.
		opts.BeforeID = r.URL.Query().Get("before_id")
	}
	list, err := h.in.Batches(r.Context(), opts)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := batchesView{}
	for _, b := range list {
		v.Batches = append(v.Batches, row(b))
	}
	if len(list) == opts.Limit && len(list) > 0 {
		last := list[len(list)-1]
		v.Next = h.link("/batches", url.Values{"before": {strconv.FormatInt(last.CreatedAt.UnixNano(), 10)}, "before_id": {last.ID}})
	}
	h.render(w, r, "batches", "Batches", v)
}

// treeNode is a batch in a batch page's tree of children.
type treeNode struct {
	batchRow
	Children []*treeNode
	// Missing says the child's state is gone (expired or deleted).
	Missing bool
}

// callbackView is a configured callback and whether it fired.
type callbackView struct {
	Event backend.CallbackEvent
	Kind  string
	Queue string
	Fired time.Time
}

// batchView is a batch's page.
type batchView struct {
	batchRow
	Callbacks []callbackView
	Children  []*treeNode
	// Truncated says the tree stopped at maxTreeNodes.
	Truncated bool
}

func (h *handler) batch(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	b, err := h.in.Batch(r.Context(), id)
	if err != nil {
		if errorsIsNotFound(err) {
			http.NotFound(w, r)
			return
		}
		h.fail(w, r, err)
		return
	}
	v := batchView{batchRow: row(b)}
	for _, ev := range []backend.CallbackEvent{backend.CallbackComplete, backend.CallbackSuccess, backend.CallbackDeath} {
		cb := b.Callbacks[ev]
		if cb == nil {
			continue
		}
		c := callbackView{Event: ev, Kind: cb.Kind, Queue: cb.Queue}
		switch ev {
		case backend.CallbackComplete:
			c.Fired = b.CompleteAt
		case backend.CallbackSuccess:
			c.Fired = b.SuccessAt
		case backend.CallbackDeath:
			c.Fired = b.DeathAt
		}
		v.Callbacks = append(v.Callbacks, c)
	}
	budget := maxTreeNodes
	v.Children, err = h.tree(r.Context(), b.Children, &budget, map[string]bool{b.ID: true})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Truncated = budget <= 0
	h.render(w, r, "batch", "Batch", v)
}

// tree reads the children batches, depth first, at most *budget of them;
// seen guards against a cycle.
func (h *handler) tree(ctx context.Context, ids []string, budget *int, seen map[string]bool) ([]*treeNode, error) {
	var out []*treeNode
	for _, id := range ids {
		if *budget <= 0 || seen[id] {
			break
		}
		*budget--
		seen[id] = true
		b, err := h.in.Batch(ctx, id)
		if err != nil {
			if errorsIsNotFound(err) {
				out = append(out, &treeNode{batchRow: batchRow{BatchStatus: &backend.BatchStatus{ID: id}}, Missing: true})
				continue
			}
			return nil, err
		}
		n := &treeNode{batchRow: row(b)}
		if n.Children, err = h.tree(ctx, b.Children, budget, seen); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func (h *handler) cancelBatch(w http.ResponseWriter, r *http.Request) {
	id, ok := formValue(w, r, "id", "no batch id")
	if !ok {
		return
	}
	if err := h.in.CancelBatch(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirectBack(w, r, h.link("/batch", url.Values{"id": {id}}))
}

// errorsView is the cross-batch error groups.
type errorsView struct {
	Queue, Kind string
	// Since is the window asked for ("2h"; "" for the whole retention).
	Since  string
	Groups []backend.ErrorGroupStat
}

func (h *handler) errorGroups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	jf := filterFrom("", q)
	f := backend.ErrorGroupFilter{Queue: jf.Queue, Kind: jf.Kind, Limit: maxErrorGroupRows}
	since := q.Get("since")
	if since != "" {
		d, err := time.ParseDuration(since)
		if err != nil || d <= 0 {
			badRequest(w, "since must be a positive duration such as 2h")
			return
		}
		f.Since = h.now().Add(-d)
	}
	gs, err := h.in.ErrorGroups(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, "errors", "Errors", errorsView{Queue: f.Queue, Kind: f.Kind, Since: since, Groups: gs})
}

func (h *handler) periodic(w http.ResponseWriter, r *http.Request) {
	ps, err := h.in.Periodic(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, "periodic", "Periodic jobs", ps)
}

// familyRow is a key family's bytes.
type familyRow struct {
	Family string
	Bytes  int64
}

// memoryPage is the memory page.
type memoryPage struct {
	Memory   *memoryView
	Families []familyRow
	// HasCleanup says a cleanup is configured; DryRun is its report when
	// asked for (?dryrun=1), Applied after an apply.
	HasCleanup bool
	// DryRan and Applied say which of DryRun and Done is shown.
	DryRan, Applied bool
	DryRun, Done    []CleanupRow
	Err             string
}

func (h *handler) memory(w http.ResponseWriter, r *http.Request) {
	v := memoryPage{Memory: h.readMemory(r.Context()), HasCleanup: h.opts.Cleanup != nil}
	if h.opts.Families != nil {
		fam, err := h.opts.Families(r.Context())
		if err != nil {
			v.Err = err.Error()
		}
		for k, n := range fam {
			v.Families = append(v.Families, familyRow{Family: k, Bytes: n})
		}
		slices.SortFunc(v.Families, func(a, b familyRow) int { return cmp.Compare(b.Bytes, a.Bytes) })
	}
	if h.opts.Cleanup != nil && r.URL.Query().Get("dryrun") != "" {
		rows, err := h.opts.Cleanup(r.Context(), false)
		if err != nil {
			v.Err = err.Error()
		}
		v.DryRun, v.DryRan = rows, err == nil
	}
	h.render(w, r, "memory", "Memory", v)
}

// cleanup applies the cleanup; the page that asks shows the dry run's
// counts first.
func (h *handler) cleanup(w http.ResponseWriter, r *http.Request) {
	if h.opts.Cleanup == nil {
		http.NotFound(w, r)
		return
	}
	rows, err := h.opts.Cleanup(r.Context(), true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := memoryPage{Memory: h.readMemory(r.Context()), HasCleanup: true, Applied: true, Done: rows}
	h.render(w, r, "memory", "Memory", v)
}

// errorsIsNotFound reports a missing job or batch.
func errorsIsNotFound(err error) bool {
	return errors.Is(err, backend.ErrJobNotFound) || errors.Is(err, backend.ErrBatchNotFound)
}
