package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/cleanup"
	"github.com/joblot/joblot/internal/memreport"
	"github.com/joblot/joblot/web"
)

// webAuthEnv holds the dashboard's basic-auth credentials, user:password.
const webAuthEnv = "JOBLOT_WEB_AUTH"

// defaultWebListen is where `joblot web` listens: loopback only.
const defaultWebListen = "127.0.0.1:8080"

// webFamilySample is the keys the memory page's family report measures.
const webFamilySample = 10_000

// errWebNoAuth refuses a dashboard others can reach without credentials.
var errWebNoAuth = errors.New("web: listening on a non-loopback address needs $" + webAuthEnv + "=user:password (or --insecure-no-auth)")

// webFlags are `joblot web`'s options.
type webFlags struct {
	listen   string
	readOnly bool
	noAuth   bool
}

func newWebCmd(a *app) *cobra.Command {
	var f webFlags
	cmd := &cobra.Command{
		Use:   "web",
		Short: "Serve the web dashboard until interrupted",
		Long: `Serve joblot's web dashboard on http://LISTEN/ until SIGINT or SIGTERM:
queues, processes, scheduled, retry and dead jobs, batches, error groups
and memory, with the same actions as the CLI (retry, delete, pause,
resume, clear, cancel, quiet).

It listens on 127.0.0.1:8080 by default. Set $` + webAuthEnv + `=user:password to
require HTTP basic auth; a non-loopback --listen needs it (or
--insecure-no-auth, for a dashboard behind your own authenticating proxy).
Basic auth sends the password in clear: use it over TLS (a proxy) or
loopback. --read-only hides every action and refuses writes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serveWeb(cmd.Context(), f)
		},
	}
	cmd.Flags().StringVar(&f.listen, "listen", defaultWebListen, "address to serve the dashboard on")
	cmd.Flags().BoolVar(&f.readOnly, "read-only", false, "show no actions and refuse every change")
	cmd.Flags().BoolVar(&f.noAuth, "insecure-no-auth", false, "allow a non-loopback --listen without $"+webAuthEnv)
	return cmd
}

// webAuth parses $JOBLOT_WEB_AUTH ("" when unset).
func webAuth(v string) (user, pass string, err error) {
	if v == "" {
		return "", "", nil
	}
	user, pass, ok := strings.Cut(v, ":")
	if !ok || user == "" || pass == "" {
		return "", "", fmt.Errorf("$%s must be user:password, both non-empty", webAuthEnv)
	}
	return user, pass, nil
}

// loopback reports whether addr's host is a loopback address or name.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// basicAuth returns an Authorize hook checking the credentials in
// constant time (over hashes, so the lengths do not leak either).
func basicAuth(user, pass string) func(*http.Request, web.Access) bool {
	wantU, wantP := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	return func(r *http.Request, _ web.Access) bool {
		u, p, ok := r.BasicAuth()
		gotU, gotP := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		return ok && subtle.ConstantTimeCompare(gotU[:], wantU[:])&subtle.ConstantTimeCompare(gotP[:], wantP[:]) == 1
	}
}

// challenge asks the browser for credentials when the hook refuses.
func challenge(h http.Handler, auth func(*http.Request, web.Access) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !auth(r, web.AccessRead) {
			w.Header().Set("WWW-Authenticate", `Basic realm="joblot", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// serveWeb opens the store and serves the dashboard until ctx is done.
func (a *app) serveWeb(ctx context.Context, f webFlags) error {
	user, pass, err := webAuth(a.getenv(webAuthEnv))
	if err != nil {
		return err
	}
	if user == "" && !f.noAuth && !loopback(f.listen) {
		return errWebNoAuth
	}
	s, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	opts := web.Options{Inspector: joblot.NewInspector(s.Backend), ReadOnly: f.readOnly, Logger: a.logger()}
	if m, ok := s.Backend.(backend.MemoryReporter); ok {
		opts.Memory = m
	}
	if s.redis != nil {
		a.webRedisHooks(s, &opts)
	}
	h, err := web.New(opts)
	if err != nil {
		return err
	}
	if user != "" {
		h = challenge(h, basicAuth(user, pass))
	}
	l, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("web: listen on %s: %w", f.listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	mode := ""
	if f.readOnly {
		mode = ", read-only"
	}
	if user == "" {
		mode += ", no authentication"
	}
	fmt.Fprintf(a.stdout, "serving the dashboard of %s on http://%s/ (Ctrl-C stops%s)\n", cell(s.desc), l.Addr(), mode)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Shutdown(shutdownCtx)
		cancel()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web: %w", err)
	}
	return nil
}

// webRedisHooks gives the memory page its Redis reports: bytes per key
// family (sampled) and a cleanup of finished batches and dead processes'
// records (the targets that need no cap).
func (a *app) webRedisHooks(s *store, opts *web.Options) {
	client, keys := s.redis.Client(), s.redisKeys()
	opts.Families = func(ctx context.Context) (map[string]int64, error) {
		res, err := memreport.Report(ctx, client, memreport.Options{Sample: webFamilySample, TopKeys: -1, Keys: keys})
		if err != nil {
			return nil, err
		}
		m := make(map[string]int64, len(res.Families))
		for _, f := range res.Families {
			m[string(f.Family)] = f.Bytes
		}
		return m, nil
	}
	opts.Cleanup = func(ctx context.Context, apply bool) ([]web.CleanupRow, error) {
		if err := redis.CheckVersion(ctx, client, keys.Prefix()); err != nil {
			return nil, err
		}
		res, err := cleanup.Run(ctx, client, cleanup.Options{Targets: []cleanup.Target{cleanup.Batches, cleanup.Processes}, Apply: apply, Keys: keys})
		if res == nil {
			return nil, err
		}
		rows := make([]web.CleanupRow, 0, len(res.Targets))
		for _, t := range res.Targets {
			rows = append(rows, web.CleanupRow{Target: string(t.Target), Keys: t.Keys, Members: t.Members, Bytes: t.Bytes})
		}
		return rows, err
	}
}
