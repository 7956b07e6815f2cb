// Package web is joblot's dashboard: an http.Handler that a program mounts
// in its own mux, under any prefix, to see and act on its jobs, queues,
// batches and processes. Every page is made of joblot.Inspector calls and
// rendered on the server with html/template; htmx refreshes counters and
// tables in place, uPlot draws the overview's chart. Every asset is
// embedded: the dashboard works offline and loads nothing from elsewhere.
//
// Security: every request passes Options.Authorize (reads and writes
// apart); every write is a POST behind http.CrossOriginProtection; the
// Content-Security-Policy allows no inline script or style; every string a
// job carries is escaped and bounded; Options.ReadOnly removes the write
// buttons and refuses writes.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Access is what a request asks to do: read a page or change the store.
type Access int

const (
	// AccessRead is a GET or HEAD: a page, a fragment or an asset.
	AccessRead Access = iota
	// AccessWrite is a POST: retry, delete, pause, clear, cancel, quiet,
	// stop.
	AccessWrite
)

// String names the access.
func (a Access) String() string {
	if a == AccessWrite {
		return "write"
	}
	return "read"
}

// Defaults of Options.
const (
	// DefaultPageSize is the jobs and batches shown per page.
	DefaultPageSize = 50
	// DefaultRefresh is how often live parts of a page refresh.
	DefaultRefresh = 5 * time.Second
	// DefaultCountBudget is how many jobs a filtered count reads at most
	// before it says "≥ N" instead of reading on.
	DefaultCountBudget = 10000
	// DefaultMaxText bounds a job-provided string in a table cell (runes).
	DefaultMaxText = 200
	// DefaultMaxArgs bounds the args shown on a job's page (runes).
	DefaultMaxArgs = 4000
	// maxErrorGroupRows bounds the groups the errors page lists.
	maxErrorGroupRows = 100
	// maxProcessJobRows bounds the in-flight jobs listed per process.
	maxProcessJobRows = 20
	// maxTreeNodes bounds the batches a batch page's tree reads.
	maxTreeNodes = 200
)

// ErrNoInspector is returned by New when Options.Inspector is nil.
var ErrNoInspector = errors.New("web: Options.Inspector is required")

// Options configure the dashboard.
type Options struct {
	// Inspector is the store the dashboard shows (required).
	Inspector *joblot.Inspector
	// Memory, if set, reports the store's memory for the overview and
	// the memory page (the Redis and file backends implement it: pass the
	// backend). Nil hides memory.
	Memory backend.MemoryReporter
	// Families, if set, measures the store's memory by key family (bytes
	// per family) for the memory page. Nil hides the table. `joblot web`
	// sets it on Redis.
	Families func(ctx context.Context) (map[string]int64, error)
	// Cleanup, if set, removes what the store no longer needs (apply) or
	// reports what it would remove (!apply): the memory page shows a dry
	// run and applies it behind a confirmation. Nil hides it.
	Cleanup func(ctx context.Context, apply bool) ([]CleanupRow, error)
	// Authorize, if set, is asked for every request with the access it
	// needs; false answers 403. Nil allows everything: mount the handler
	// behind your own authentication.
	Authorize func(*http.Request, Access) bool
	// ReadOnly hides every write control and refuses writes with 403.
	ReadOnly bool
	// BasePath is the path the handler is mounted under, e.g.
	// "/admin/jobs" for mux.Handle("/admin/jobs/", h). Every link and
	// form is built on it; requests outside it get 404. Default "".
	BasePath string
	// PageSize is the jobs per page (default DefaultPageSize).
	PageSize int
	// Refresh is how often live parts refresh (default DefaultRefresh).
	Refresh time.Duration
	// CountBudget bounds filtered counts, and the stored jobs one page of a
	// filtered listing examines (default DefaultCountBudget): a sparse
	// filter over millions of jobs shows what the budget found ("≥ N")
	// and a link that examines the next ones, instead of scanning them all.
	CountBudget int
	// MaxText bounds job-provided strings in tables (default
	// DefaultMaxText runes).
	MaxText int
	// Logger receives errors; nil means slog.Default().
	Logger *slog.Logger
}

// CleanupRow is one target of a cleanup: what it removed, or would.
type CleanupRow struct {
	Target string
	// Keys and Members removed (or found by a dry run), and their bytes.
	Keys, Members, Bytes int64
}

// handler is the dashboard.
type handler struct {
	opts  Options
	in    *joblot.Inspector
	base  string
	pages map[string]*template.Template
	mux   *http.ServeMux
	log   *slog.Logger
}

// csp is the Content-Security-Policy of every response: scripts, styles,
// fetches and forms from this origin only, nothing inline.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// New returns the dashboard's handler.
func New(opts Options) (http.Handler, error) {
	if opts.Inspector == nil {
		return nil, ErrNoInspector
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.CountBudget <= 0 {
		opts.CountBudget = DefaultCountBudget
	}
	if opts.MaxText <= 0 {
		opts.MaxText = DefaultMaxText
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	base := strings.TrimRight(opts.BasePath, "/")
	if base != "" && !strings.HasPrefix(base, "/") {
		return nil, fmt.Errorf("web: BasePath %q must start with /", opts.BasePath)
	}
	h := &handler{opts: opts, in: opts.Inspector, base: base, log: opts.Logger}
	var err error
	if h.pages, err = parsePages(h); err != nil {
		return nil, err
	}
	h.routes()
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	return cop.Handler(http.HandlerFunc(h.serve)), nil
}

// serve checks the path, the access and sets the security headers.
func (h *handler) serve(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	access := AccessRead
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		access = AccessWrite
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.opts.Authorize != nil && !h.opts.Authorize(r, access) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if access == AccessWrite && h.opts.ReadOnly {
		http.Error(w, "the dashboard is read-only", http.StatusForbidden)
		return
	}
	p := r.URL.Path
	if h.base != "" {
		if p == h.base {
			http.Redirect(w, r, h.base+"/", http.StatusFound)
			return
		}
		rest, ok := strings.CutPrefix(p, h.base+"/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		p = "/" + rest
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = p
	r2.URL.RawPath = ""
	h.mux.ServeHTTP(w, r2)
}

func (h *handler) routes() {
	m := http.NewServeMux()
	assets, _ := fs.Sub(assetFS, "assets")
	m.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	m.HandleFunc("GET /{$}", h.overview)
	m.HandleFunc("GET /chart.json", h.chartJSON)
	m.HandleFunc("GET /processes", h.processes)
	m.HandleFunc("POST /processes/quiet", h.quietProcess)
	m.HandleFunc("POST /processes/stop", h.stopProcess)
	m.HandleFunc("GET /queues", h.queues)
	m.HandleFunc("POST /queues/pause", h.pauseQueue(true))
	m.HandleFunc("POST /queues/resume", h.pauseQueue(false))
	m.HandleFunc("GET /queues/clear", h.clearQueueConfirm)
	m.HandleFunc("POST /queues/clear", h.clearQueue)
	m.HandleFunc("GET /jobs/{set}", h.jobs)
	m.HandleFunc("GET /jobs/{set}/confirm", h.jobsConfirm)
	m.HandleFunc("POST /jobs/{set}/act", h.jobsAct)
	m.HandleFunc("GET /job", h.job)
	m.HandleFunc("GET /batches", h.batches)
	m.HandleFunc("GET /batch", h.batch)
	m.HandleFunc("POST /batch/cancel", h.cancelBatch)
	m.HandleFunc("GET /errors", h.errorGroups)
	m.HandleFunc("GET /limits", h.limits)
	m.HandleFunc("GET /periodic", h.periodic)
	m.HandleFunc("GET /memory", h.memory)
	m.HandleFunc("POST /memory/cleanup", h.cleanup)
	h.mux = m
}

// link builds an absolute link under the base path with a query.
func (h *handler) link(path string, q url.Values) string {
	s := h.base + path
	if enc := q.Encode(); enc != "" {
		s += "?" + enc
	}
	return s
}

// fail logs err and answers 500 with a bounded, generic message (errors
// may carry job data; the page escapes it anyway).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	h.log.Error("web: request failed", "path", r.URL.Path, "err", err)
	http.Error(w, "error: "+cut(err.Error(), 300), http.StatusInternalServerError)
}

// badRequest answers 400.
func badRequest(w http.ResponseWriter, msg string) {
	http.Error(w, cut(msg, 300), http.StatusBadRequest)
}

// redirectBack sends the browser to to after a write (POST-redirect-GET),
// keeping it under the base path.
func (h *handler) redirectBack(w http.ResponseWriter, r *http.Request, to string) {
	if to == "" || !strings.HasPrefix(to, h.base+"/") || strings.HasPrefix(to, "//") || strings.Contains(to, "\\") {
		to = h.base + "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// postForm parses a POST's form and decodes its values, which the
// dashboard's forms percent-encode (the enc template function). A value
// that does not decode is a bad request.
func postForm(r *http.Request) (url.Values, error) {
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("web: bad form: %w", err)
	}
	out := url.Values{}
	for k, vs := range r.PostForm {
		for _, v := range vs {
			d, err := url.QueryUnescape(v)
			if err != nil {
				return nil, fmt.Errorf("web: bad form value of %s: %w", k, err)
			}
			out[k] = append(out[k], d)
		}
	}
	return out, nil
}
