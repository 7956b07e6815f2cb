package web

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/joblot/joblot/internal/termtext"
)

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = []string{"overview", "processes", "queues", "jobs", "confirm", "job", "batches", "batch", "errors", "limits", "periodic", "memory"}

// view is what every page template gets.
type view struct {
	Base     string
	Title    string
	Nav      string
	ReadOnly bool
	// Self is the page's own URL, for live refresh.
	Self string
	// RefreshMS is the live refresh period in milliseconds.
	RefreshMS int64
	Data      any
}

// parsePages parses each page with the layout and the helpers.
func parsePages(h *handler) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		// t escapes control and bidi characters visibly and bounds a
		// job-provided string; html/template then escapes it for HTML.
		"t":    func(s string) string { return termtext.Cell(s, h.opts.MaxText) },
		"long": func(s string) string { return termtext.Cell(s, DefaultMaxArgs) },
		"args": func(b []byte) string { return termtext.Cell(string(b), DefaultMaxArgs) },
		"link": func(path string, kv ...any) string {
			q := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				if v := fmt.Sprint(kv[i+1]); v != "" {
					q.Set(fmt.Sprint(kv[i]), v)
				}
			}
			return h.link(path, q)
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05")
		},
		"dur": func(d time.Duration) string {
			if d <= 0 {
				return "0s"
			}
			if d < time.Second {
				return d.Round(time.Millisecond).String()
			}
			return d.Round(time.Second).String()
		},
		// enc percent-encodes a value a form sends back (hidden
		// fields): job data reaches the page as plain ASCII, control
		// bytes included, and postForm decodes it exactly.
		"enc":   url.QueryEscape,
		"field": filterField,
		"bytes": humanBytes,
		"num":   func(n int64) string { return strconv.FormatInt(n, 10) },
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// render writes a page; it renders into a buffer first so that an error
// midway answers 500 instead of half a page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	v := view{Base: h.base, Title: title, Nav: name, ReadOnly: h.opts.ReadOnly,
		Self: h.base + r.URL.RequestURI(), RefreshMS: h.opts.Refresh.Milliseconds(), Data: data}
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, v); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// humanBytes formats a byte count.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// filterField renders a filter's text field. A value with control or
// bidi characters cannot be shown as is, so it shows escaped in a field
// that is not sent, and travels percent-encoded in a hidden "name~" field
// that filterFrom decodes: resubmitting the form keeps the exact value.
func filterField(name, value string) template.HTML {
	n := html.EscapeString(name)
	if e := termtext.Escape(value); e != value {
		return template.HTML(`<input value="` + html.EscapeString(e) + `" readonly title="holds control characters; clear the filter to change it">` +
			`<input type="hidden" name="` + n + `~" value="` + html.EscapeString(url.QueryEscape(value)) + `">`)
	}
	return template.HTML(`<input name="` + n + `" value="` + html.EscapeString(value) + `">`)
}

// cut bounds a message (not job data shown in a page: that goes through t).
func cut(s string, max int) string { return termtext.Cell(s, max) }
