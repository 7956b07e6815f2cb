package joblot

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// corpusCase is one failure of the corpus: the group it must fall in and
// the error as the code returned it.
type corpusCase struct {
	group string
	kind  string
	err   error
}

func (c corpusCase) fingerprint() string {
	return errorFingerprint(c.kind, errorClass(c.err), c.err.Error())
}

// Sentinels of a payment wrapper, as an application defines them.
var (
	errCorpusDeclined = errors.New("card declined")
	errCorpusExpired  = errors.New("card expired")
	errCorpusNotFound = errors.New("not found")
)

// realCorpus produces failures by running the code paths that produce them
// in production: dials, decoders, parsers, files, contexts, TLS and HTTP
// against local servers.
func realCorpus(t *testing.T) []corpusCase {
	t.Helper()
	var cs []corpusCase
	add := func(group, kind string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("corpus %s: no error", group)
		}
		cs = append(cs, corpusCase{group, kind, err})
	}

	// A closed port: connection refused, one group whatever the port.
	for range 4 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		_, err = net.Dial("tcp", addr)
		add("dial-refused", "sync", err)
		add("dial-refused-wrapped", "sync", fmt.Errorf("connect to cache %s: %w", addr, err))
	}

	// JSON.
	type user struct {
		Age  int    `json:"age"`
		Name string `json:"name"`
	}
	for _, in := range []string{`{"age":x}`, `{"age":y1}`, `{"name":%}`, `{"age":@}`} {
		add("json-syntax", "import", json.Unmarshal([]byte(in), &user{}))
	}
	for _, in := range []string{`{"age":"12"}`, `{"age":"x"}`, `{"age":"-1"}`} {
		add("json-type-string", "import", json.Unmarshal([]byte(in), &user{}))
	}
	for _, in := range []string{`{"age":1.5}`, `{"age":99999999999999999999}`, `{"age":2.25}`} {
		add("json-type-number", "import", json.Unmarshal([]byte(in), &user{}))
	}
	for _, in := range []string{`{"age":`, `{`, `[1,`} {
		add("json-eof", "import", json.Unmarshal([]byte(in), &user{}))
	}
	for i, in := range []string{`{"age":`, `{"name":"a`, `[`} {
		add("json-eof-wrapped", "import", fmt.Errorf("decode record %d of batch %s: %w", i*37+1, newTestUUID(i), json.Unmarshal([]byte(in), &user{})))
	}

	// URLs.
	for _, in := range []string{":foo", ":bar", ":8080", ":x-y"} {
		_, err := url.Parse(in)
		add("url-scheme", "crawl", err)
	}
	for _, in := range []string{"%zz", "a%zq", "%g0", "/p/%"} {
		_, err := url.Parse(in)
		add("url-escape", "crawl", err)
	}
	for _, in := range []string{"http://[::1", "http://[fe80::1", "http://[2001:db8::7"} {
		_, err := url.Parse(in)
		add("url-bracket", "crawl", err)
	}

	// Context deadlines and cancellations.
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
		<-ctx.Done()
		add("ctx-deadline", "report", fmt.Errorf("build report %d for %s: %w", 1000+i*7919, newTestUUID(i), ctx.Err()))
		cancel()
		ctx, cancel = context.WithCancel(context.Background())
		cancel()
		add("ctx-canceled", "report", fmt.Errorf("build report %d for %s: %w", 1000+i*7919, newTestUUID(i), ctx.Err()))
	}

	// Files.
	dir := t.TempDir()
	for i, name := range []string{"missing-17.json", "missing-2024.json", "missing-9.json", "missing-0.json"} {
		_, err := os.Open(filepath.Join(dir, fmt.Sprint(i), name))
		add("open-missing", "import", err)
	}
	for i := range 3 {
		sub := filepath.Join(dir, fmt.Sprintf("dir-%d", i*101))
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := os.ReadFile(sub)
		add("read-dir", "import", err)
	}

	// strconv.
	for _, in := range []string{"abc", "12a", "0x1g", "1e"} {
		_, err := strconv.Atoi(in)
		add("atoi-syntax", "import", err)
	}
	for _, in := range []string{"99999999999999999999", "-99999999999999999999", "18446744073709551616"} {
		_, err := strconv.ParseInt(in, 10, 64)
		add("parseint-range", "import", err)
	}
	for _, in := range []string{"maybe", "yes", "2"} {
		_, err := strconv.ParseBool(in)
		add("parsebool", "import", err)
	}

	// TLS: a server whose certificate the client does not trust.
	for range 3 {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
		_, err := http.Get(srv.URL + "/v1/sync")
		srv.Close()
		add("x509-unknown-authority", "sync", err)
	}

	// HTTP against local servers: statuses as a client reports them, a
	// dropped connection, a client timeout.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/drop/"):
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = c.Close()
			}
		case strings.HasPrefix(r.URL.Path, "/slow/"):
			<-r.Context().Done()
		default:
			code, _ := strconv.Atoi(r.URL.Query().Get("code"))
			http.Error(w, "nope", code)
		}
	}))
	defer srv.Close()
	get := func(client *http.Client, path string) error {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode >= 400 {
			return fmt.Errorf("GET %s: status %d", srv.URL+path, resp.StatusCode)
		}
		return nil
	}
	getStatus := func(client *http.Client, path string) error {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return fmt.Errorf("unexpected response from %s: %s", srv.URL+path, resp.Status)
	}
	for i := range 4 {
		add("http-404", "sync", get(srv.Client(), fmt.Sprintf("/v1/items/%d?token=%x&code=404", i*7907, i*104729+5)))
		add("http-500", "sync", get(srv.Client(), fmt.Sprintf("/v1/items/%d?token=%x&code=500", i*7907, i*104729+5)))
		add("http-status-404", "sync", getStatus(srv.Client(), fmt.Sprintf("/v1/users/%s?code=404", newTestUUID(i))))
		add("http-status-503", "sync", getStatus(srv.Client(), fmt.Sprintf("/v1/users/%s?code=503", newTestUUID(i))))
	}
	for i := range 3 {
		add("http-drop", "webhook", get(srv.Client(), fmt.Sprintf("/drop/%d", i*31337)))
	}
	slow := &http.Client{Timeout: 20 * time.Millisecond}
	for i := range 3 {
		add("http-client-timeout", "webhook", get(slow, fmt.Sprintf("/slow/%d", i*271)))
	}
	// A job timeout while the request is in flight, as runJob sees it.
	for i := range 3 {
		d := time.Duration(50+i*250) * time.Millisecond
		ctx, cancel := context.WithTimeoutCause(context.Background(), time.Millisecond, fmt.Errorf("%w after %v", ErrJobTimeout, d))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/slow/hooks/%d", srv.URL, 41+i*1009), nil)
		_, err := srv.Client().Do(req)
		cancel()
		add("http-job-timeout", "webhook", err)
	}
	return cs
}

// newTestUUID is a deterministic UUID-shaped value.
func newTestUUID(i int) string {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
}

// sdkCorpus writes failures as widely used SDKs and servers format them
// (the root module takes no dependency on them).
func sdkCorpus() []corpusCase {
	var cs []corpusCase
	add := func(group, kind, msg string) { cs = append(cs, corpusCase{group, kind, errors.New(msg)}) }
	wrap := func(group, kind string, err error) { cs = append(cs, corpusCase{group, kind, err}) }
	ids := []string{"3MqLiJ2eZvKYlo2C1", "0000000000332320", "NffrFeUfNV2HibAb", "1Ab2Cd3Ef4Gh5Ij6"}
	reqs := []string{"req_lsVPYBbM8uPmK4", "req_AbCdEfGhIjKlMn", "req_0a1B2c3D4e5F6g", "req_ZZtop1234abcd"}
	for i := range ids {
		// An application wrapping its sentinels.
		wrap("app-declined", "charge", fmt.Errorf("charge ch_%s: %w", ids[i], errCorpusDeclined))
		wrap("app-expired", "charge", fmt.Errorf("charge ch_%s: %w", ids[i], errCorpusExpired))
		wrap("app-customer-not-found", "charge", fmt.Errorf("customer cus_%s: %w", ids[i], errCorpusNotFound))
		// stripe-go: *stripe.Error marshals itself to JSON.
		add("stripe-card-declined", "charge", fmt.Sprintf(`{"code":"card_declined","decline_code":"generic_decline","doc_url":"https://stripe.com/docs/error-codes/card-declined","status":402,"message":"Your card was declined.","param":"","request_id":"%s","request_log_url":"https://dashboard.stripe.com/test/logs/%s?t=%d","type":"card_error","charge":"ch_%s"}`, reqs[i], reqs[i], 1700000000+i*3600, ids[i]))
		add("stripe-insufficient-funds", "charge", fmt.Sprintf(`{"code":"card_declined","decline_code":"insufficient_funds","doc_url":"https://stripe.com/docs/error-codes/card-declined","status":402,"message":"Your card has insufficient funds.","param":"","request_id":"%s","request_log_url":"https://dashboard.stripe.com/test/logs/%s?t=%d","type":"card_error","charge":"ch_%s"}`, reqs[i], reqs[i], 1700000000+i*3600, ids[i]))
		add("stripe-no-such-customer", "charge", fmt.Sprintf(`{"code":"resource_missing","doc_url":"https://stripe.com/docs/error-codes/resource-missing","status":404,"message":"No such customer: 'cus_%s'","param":"customer","request_id":"%s","type":"invalid_request_error"}`, ids[i], reqs[i]))
		add("stripe-rate-limit", "charge", fmt.Sprintf(`{"code":"rate_limit","status":429,"message":"Too many requests hit the API too quickly.","request_id":"%s","type":"invalid_request_error"}`, reqs[i]))
	}
	awsReq := []string{"7WDGF1M2YXDQ4ZPN", "PFSCYFD0XJYI5MGN", "MZWNYWFMRHCYZKRV", "84MIERVFSBILOKRI"}
	hosts := []string{"CHHSmAu9/+co7+UE+iZhY21sBGYLQN2DhRezFluGS153eMllaUZPcKDXwPQNBRT6alxKsizFY1jw=", "+93eJeMMjNyBEyp+6SS+pq2YxWRk331lXY/ItMDkqpyGCMHYF/5bsG4IAiDc/ue+do+GcmoEpwc8=", "nuw8Jf0pbxHLjCkMgOJ3hPzQyTsArd2V5WlK7b9sE1uRcF4yXqN0oT6mDvGiBaZ+Pk=", "2kDvH9k5MZRNSkS17j/z5Cvsdz8tosAeduOcENZmxMTIJdLNMtU2UFtUn6sy7VoibYRd1EkPAc3E="}
	for i := range awsReq {
		add("aws-s3-nosuchkey", "export", fmt.Sprintf("operation error S3: GetObject, https response error StatusCode: 404, RequestID: %s, HostID: %s, NoSuchKey: ", awsReq[i], hosts[i]))
		add("aws-s3-accessdenied", "export", fmt.Sprintf("operation error S3: GetObject, https response error StatusCode: 403, RequestID: %s, HostID: %s, api error AccessDenied: Access Denied", awsReq[i], hosts[i]))
		add("aws-ddb-conditional", "export", fmt.Sprintf("operation error DynamoDB: PutItem, https response error StatusCode: 400, RequestID: %s, ConditionalCheckFailedException: The conditional request failed", awsReq[i]))
		add("aws-sqs-timeout", "export", fmt.Sprintf("operation error SQS: SendMessage, exceeded maximum number of attempts, 3, https response error StatusCode: 0, RequestID: , request send failed, Post \"https://sqs.us-east-1.amazonaws.com/\": dial tcp 52.94.%d.%d:443: i/o timeout", i*17, 200+i))
		add("aws-v1-nosuchkey", "export", fmt.Sprintf("NoSuchKey: The specified key does not exist.\n\tstatus code: 404, request id: %s, host id: %s", awsReq[i], hosts[i]))
		add("aws-throttle", "export", fmt.Sprintf("operation error DynamoDB: Query, failed to get rate limit token, retry quota exceeded, %d available, %d requested", i*5, 5))
	}
	for i := range 4 {
		id, ip := 1000+i*7331, fmt.Sprintf("10.%d.%d.%d", i, i*3, 200+i)
		add("grpc-notfound", "profile", fmt.Sprintf("rpc error: code = NotFound desc = user %d not found", id))
		add("grpc-permission", "profile", fmt.Sprintf("rpc error: code = PermissionDenied desc = user %d not found", id))
		add("grpc-deadline", "profile", "rpc error: code = DeadlineExceeded desc = context deadline exceeded")
		add("grpc-unavailable-refused", "profile", fmt.Sprintf(`rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp %s:50051: connect: connection refused"`, ip))
		add("grpc-unavailable-dns", "profile", fmt.Sprintf(`rpc error: code = Unavailable desc = name resolver error: produced zero addresses for "dns:///profile-%d.internal:50051"`, 7))
		add("grpc-resource", "profile", fmt.Sprintf("rpc error: code = ResourceExhausted desc = grpc: received message larger than max (%d vs. %d)", 4194304+i*977, 4194304))
		add("pg-unique-email", "signup", fmt.Sprintf(`ERROR: duplicate key value violates unique constraint "users_email_key" (SQLSTATE 23505)`))
		add("pg-unique-name", "signup", `ERROR: duplicate key value violates unique constraint "users_name_key" (SQLSTATE 23505)`)
		add("pg-conn", "signup", fmt.Sprintf("failed to connect to `host=10.0.%d.5 user=app database=app`: dial error (dial tcp 10.0.%d.5:5432: connect: connection refused)", i, i))
		add("redis-timeout", "cache", fmt.Sprintf("dial tcp 10.1.%d.%d:6379: i/o timeout", i, i+9))
		add("redis-readonly", "cache", "READONLY You can't write against a read only replica.")
		add("k8s-pod-notfound", "deploy", fmt.Sprintf(`pods "worker-%x-%s" not found`, 0x7f9c4b8d5+i*4099, []string{"x2k9p", "ab3cd", "q9z8y", "m1n2o"}[i]))
		add("googleapi-404", "sync", fmt.Sprintf("googleapi: Error 404: File not found: %s., notFound", []string{"1AbCdEfGhIjKlMnOpQrStUvWxYz0", "1ZyXwVuTsRqPoNmLkJiHgFeDcBa9", "0B7zM3hQpLxYtK2nR8sVwEaFgHj", "1qW2eR3tY4uI5oP6aS7dF8gH9jK"}[i]))
		add("googleapi-403", "sync", fmt.Sprintf("googleapi: Error 403: The caller does not have permission, forbidden"))
		add("lock-held", "charge", fmt.Sprintf(`lock "batch:%d" held by worker-%d since %s: retry in %v`, 946085+i*7, i, time.Date(2025, 1, 1+i, i, 2*i, 0, i*1000, time.UTC).Format(time.RFC3339Nano), time.Duration(i+1)*1234567*time.Microsecond))
		add("quota", "export", fmt.Sprintf("user %s <%s>: upload %dMB of %.1fGB: quota exceeded", newTestUUID(i), []string{"a@example.com", "bob.smith+x@mail.example.org", "z9@example.co.uk", "x_y@example.com"}[i], 10+i*333, 1.5+float64(i)))
		add("log-timestamp", "etl", fmt.Sprintf("[%s] worker %d: batch %s expired", time.Date(2000, time.Month(1+i*3), 10+i, 13, 55, 36, 0, time.FixedZone("", -7*3600)).Format("02/Jan/2006:15:04:05 -0700"), i, newTestUUID(i)))
		add("go-time", "etl", fmt.Sprintf("lease expired at %s (now %s)", time.Date(2025, time.Month(1+i*2), 1+i, i, 0, i, i*123456, time.UTC), time.Date(2025, time.Month(2+i*2), 3+i, i, 0, i, 1, time.UTC).Format(time.ANSIC)))
		add("ipv6-refused", "sync", fmt.Sprintf("dial tcp [%s]:%d: connect: connection refused", []string{"::1", "fe80::1%eth0", "2001:db8::a:7", "2001:db8:0:0:0:0:0:1"}[i], 8000+i*1111))
		add("file-line", "build", fmt.Sprintf("template %s:%d:%d: unexpected EOF", "/srv/app/templates/mail.tmpl", 10+i*97, 1+i*3))
		add("size", "upload", fmt.Sprintf("file of %s exceeds the limit of %s", []string{"10MB", "1.5GiB", "999KB", "3GB"}[i], []string{"8MB", "1GiB", "512KiB", "2GB"}[i]))
		add("hex-addr", "native", fmt.Sprintf("invalid memory address at 0x%x (pc=0x%x)", 0xc000123456+i*4096, 0x4a5b6c+i))
	}
	return cs
}

// TestErrorGroupCorpus: every failure of the corpus falls in the group it
// is labelled with, and different labels are different groups.
func TestErrorGroupCorpus(t *testing.T) {
	cases := append(realCorpus(t), sdkCorpus()...)
	if len(cases) < 200 {
		t.Fatalf("corpus has %d cases, want at least 200", len(cases))
	}
	byGroup := map[string]string{} // label -> fingerprint
	byFP := map[string]string{}    // fingerprint -> label
	sample := map[string]corpusCase{}
	for _, c := range cases {
		fp := c.fingerprint()
		if !strings.HasPrefix(fp, fingerprintVersion) {
			t.Fatalf("fingerprint %q lacks the version prefix", fp)
		}
		if want, ok := byGroup[c.group]; ok && want != fp {
			s := sample[c.group]
			t.Errorf("group %s split:\n  %s | %s\n    -> %s\n  %s | %s\n    -> %s", c.group,
				errorClass(s.err), s.err, normalizeMessage(s.err.Error()),
				errorClass(c.err), c.err, normalizeMessage(c.err.Error()))
			continue
		}
		byGroup[c.group], sample[c.group] = fp, c
		if other, ok := byFP[fp]; ok && other != c.group {
			t.Errorf("groups %s and %s merged: %q and %q -> %s", other, c.group, sample[other].err, c.err, normalizeMessage(c.err.Error()))
		}
		byFP[fp] = c.group
	}
	t.Logf("%d failures in %d groups", len(cases), len(byGroup))
}

// TestErrorGroupNearMisses: messages that differ in what matters stay
// apart, under one kind and one class, so only the normaliser decides.
func TestErrorGroupNearMisses(t *testing.T) {
	pairs := [][2]string{
		{"GET https://api.example.com/v1/items/29: status 404", "GET https://api.example.com/v1/items/29: status 500"},
		{"status code: 404", "status code: 429"},
		{"StatusCode: 400", "StatusCode: 503"},
		{"http status 502", "http status 504"},
		{"HTTP/1.1 401 Unauthorized", "HTTP/1.1 403 Forbidden"},
		{"unexpected response: 404 Not Found", "unexpected response: 410 Gone"},
		{"server said 500 Internal Server Error", "server said 502 Bad Gateway"},
		{"status_code=418", "status_code=451"},
		{`{"status":402}`, `{"status":404}`},
		{"exit code 127", "exit code 126"},
		{"dial tcp 10.0.0.1:443: lookup api.example.com: no such host", "dial tcp 10.0.0.1:443: connect: connection refused"},
		{"dial tcp 10.0.0.1:443: i/o timeout", "dial tcp 10.0.0.1:443: connect: connection refused"},
		{"read tcp 10.0.0.1:5432->10.0.0.2:40000: read: connection reset by peer", "read tcp 10.0.0.1:5432->10.0.0.2:40000: i/o timeout"},
		{"rpc error: code = NotFound desc = user 1 not found", "rpc error: code = PermissionDenied desc = user 1 not found"},
		{"rpc error: code = DeadlineExceeded desc = context deadline exceeded", "rpc error: code = Canceled desc = context canceled"},
		{"rpc error: code = Unavailable desc = x", "rpc error: code = Unknown desc = x"},
		{"rpc error: code = ResourceExhausted desc = x", "rpc error: code = FailedPrecondition desc = x"},
		{"rpc error: code = Internal desc = x", "rpc error: code = Unimplemented desc = x"},
		{"rpc error: code = AlreadyExists desc = x", "rpc error: code = Aborted desc = x"},
		{"UNAUTHENTICATED: token expired", "UNIMPLEMENTED: token expired"},
		{"charge ch_123: card declined", "charge ch_123: card expired"},
		{`{"code":"card_declined"}`, `{"code":"expired_card"}`},
		{`{"decline_code":"insufficient_funds"}`, `{"decline_code":"lost_card"}`},
		{`{"type":"card_error"}`, `{"type":"api_error"}`},
		{`violates unique constraint "users_email_key"`, `violates unique constraint "users_name_key"`},
		{"open /etc/app/config.yaml: no such file or directory", "open /etc/app/config.yaml: permission denied"},
		{"open /etc/app/config.yaml: no such file or directory", "open /etc/app/secrets.yaml: no such file or directory"},
		{"GET https://api.example.com/v1/items/1: status 404", "GET https://api.example.com/v1/users/1: status 404"},
		{"GET https://api.example.com/v1/items/1: status 404", "GET https://billing.example.com/v1/items/1: status 404"},
		{"GET https://api.example.com/v1/items/1: status 404", "POST https://api.example.com/v1/items/1: status 404"},
		{"GET https://api.example.com/v1/items?expand=owner: status 404", "GET https://api.example.com/v1/items?include=owner: status 404"},
		{"utf8: invalid byte", "utf16: invalid byte"},
		{"s3: bucket missing", "ec2: bucket missing"},
		{"http2: stream closed", "http: stream closed"},
		{"ipv4 only", "ipv6 only"},
		{"oauth2: token expired", "oauth1: token expired"},
		{"sha256 mismatch", "sha1 mismatch"},
		{"x509: certificate signed by unknown authority", "x509: certificate has expired or is not yet valid"},
		{"tls: handshake failure", "tls: bad certificate"},
		{"json: unknown field", "json: unknown type"},
		{"context deadline exceeded", "context canceled"},
		{"EOF", "unexpected EOF"},
		{"lock held by worker-3", "lock released by worker-3"},
		{"retry in 5s: quota exceeded", "retry in 5s: rate limited"},
		{"upload 10MB: too large", "upload 10MB: too small"},
		{"user 42 not found", "order 42 not found"},
		{"ResourceNotFoundException: table missing", "ResourceInUseException: table missing"},
		{"NoSuchKey: missing", "NoSuchBucket: missing"},
		{"AccessDenied: Access Denied", "InvalidAccessKeyId: Access Denied"},
		{"ConditionalCheckFailedException", "ProvisionedThroughputExceededException"},
		{"READONLY You can't write against a read only replica.", "LOADING Redis is loading the dataset in memory"},
		{"googleapi: Error 404: not found", "googleapi: Error 404: gone"},
		{"k8s: pod evicted", "k8s: pod preempted"},
		{"dial unix /run/app.sock: connect: no such file or directory", "dial unix /run/app.sock: connect: connection refused"},
		{"x: 'a' not allowed", "y: 'a' not allowed"},
		{"v1: deprecated", "v2: deprecated"},
	}
	if len(pairs) < 50 {
		t.Fatalf("%d near-miss pairs, want at least 50", len(pairs))
	}
	for _, p := range pairs {
		if a, b := errorFingerprint("k", "C", p[0]), errorFingerprint("k", "C", p[1]); a == b {
			t.Errorf("merged: %q and %q -> %q", p[0], p[1], normalizeMessage(p[0]))
		}
	}
	// Errors, through errorClass: sentinels and types apart.
	errPairs := [][2]error{
		{fmt.Errorf("charge %s: %w", "ch_1", errCorpusDeclined), fmt.Errorf("charge %s: %w", "ch_1", errCorpusExpired)},
		{fmt.Errorf("fetch: %w", context.DeadlineExceeded), fmt.Errorf("fetch: %w", context.Canceled)},
		{fmt.Errorf("read: %w", io.EOF), fmt.Errorf("read: %w", io.ErrUnexpectedEOF)},
		{fmt.Errorf("%w: %w", ErrJobTimeout, errCorpusDeclined), fmt.Errorf("%w: %w", errCorpusDeclined, ErrJobTimeout)},
		{errors.Join(errCorpusDeclined, errCorpusExpired), errors.Join(errCorpusExpired, errCorpusDeclined)},
	}
	for _, p := range errPairs {
		a := errorFingerprint("k", errorClass(p[0]), p[0].Error())
		b := errorFingerprint("k", errorClass(p[1]), p[1].Error())
		if a == b {
			t.Errorf("merged: %v (%s) and %v (%s)", p[0], errorClass(p[0]), p[1], errorClass(p[1]))
		}
	}
}

// TestErrorClass: classes name the innermost meaningful error.
func TestErrorClass(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("charge %s: %w", "ch_1", errCorpusDeclined), `errors.New("card declined")`},
		{fmt.Errorf("charge %s: %w", "ch_2", errCorpusDeclined), `errors.New("card declined")`},
		{errors.New("user 17 not found"), `errors.New("user * not found")`},
		{errors.New("bad\n\tvalue\x00"), `errors.New("bad value")`},
		{errors.New(strings.Repeat("word ", 100)), `errors.New("` + strings.TrimSpace(strings.Repeat("word ", 13)) + `")`},
		{fmt.Errorf("fetch: %w", context.DeadlineExceeded), "context.DeadlineExceeded"},
		{fmt.Errorf("%w after 3s: %w", ErrJobTimeout, context.DeadlineExceeded), "joblot.ErrJobTimeout"},
		{errors.Join(io.EOF, errCorpusDeclined), "io.EOF"},
		{&url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", errSyscallRefused())}}, `syscall.Errno("connection refused")`},
		{&json.SyntaxError{}, "json.SyntaxError"},
		{&tls.RecordHeaderError{}, "tls.RecordHeaderError"},
	} {
		if got := errorClass(c.err); got != c.want {
			t.Errorf("errorClass(%q) = %s, want %s", c.err, got, c.want)
		}
	}
}

// errSyscallRefused returns the errno a refused connection carries.
func errSyscallRefused() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, err = net.Dial("tcp", addr)
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		err = u
	}
	return err
}

// TestErrorGroupTemplates substitutes random values into message
// templates: each template stays one group, and templates stay apart.
func TestErrorGroupTemplates(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 13))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	rnd := func(n int, alphabet string) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	var idOf func(int) string
	num := func() string {
		switch r.IntN(4) {
		case 0:
			return strconv.Itoa(r.IntN(10))
		case 1:
			return strconv.Itoa(-r.IntN(1 << 30))
		case 2:
			return strconv.FormatFloat(r.Float64()*1e4, 'f', -1, 64)
		}
		return strconv.FormatUint(r.Uint64(), 10)
	}
	id := func() string {
		return idOf(r.IntN(6))
	}
	idOf = func(k int) string {
		switch k {
		case 0:
			return num()
		case 1:
			return newTestUUID(r.IntN(1 << 20))
		case 2:
			return rnd(16, "0123456789abcdef")
		case 3:
			return "01" + rnd(24, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") // ULID
		case 4:
			return rnd(20+r.IntN(20), base62) + pick("", "+"+rnd(20, base62+"/")+"==")
		}
		return fmt.Sprintf("0x%x", r.Uint64())
	}
	// A prefixed id as payment APIs make them.
	sid := func(prefix string) string {
		return prefix + rnd(8+r.IntN(20), base62)
	}
	ip := func() string {
		switch r.IntN(4) {
		case 0:
			return fmt.Sprintf("%d.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256))
		case 1:
			return fmt.Sprintf("%d.%d.%d.%d:%d", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(65536))
		case 2:
			return fmt.Sprintf("[2001:db8::%x]:%d", r.IntN(65536), r.IntN(65536))
		}
		return fmt.Sprintf("fe80::%x:%x", r.IntN(65536), r.IntN(65536))
	}
	email := func() string {
		return rnd(1+r.IntN(12), "abcdefghijklmnopqrstuvwxyz0123456789") + pick("", ".x", "+tag") + "@" + pick("example.com", "mail.example.org", "a.co")
	}
	dur := func() string { return time.Duration(r.Int64N(int64(100 * time.Hour))).String() }
	when := func() string {
		at := time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC()
		return at.Format(pick(time.RFC3339, time.RFC3339Nano, "2006-01-02 15:04:05", "02/Jan/2006:15:04:05 -0700", "15:04:05.000"))
	}
	u := func() string {
		// Path segments hold no base64: it would be escaped.
		return fmt.Sprintf("https://api.example.com/v1/orders/%s/lines/%d?cursor=%s&limit=%d", idOf([]int{0, 1, 2, 3, 5}[r.IntN(5)]), r.IntN(1000), rnd(20, base62+"/+="), r.IntN(500))
	}
	templates := []func() string{
		func() string { return fmt.Sprintf("fetch user %s: status 404", id()) },
		func() string { return fmt.Sprintf("fetch user %s: status 500", id()) },
		func() string { return fmt.Sprintf("fetch order %s: status 404", id()) },
		func() string { return fmt.Sprintf("dial tcp %s: connect: connection refused", ip()) },
		func() string { return fmt.Sprintf("dial tcp %s: i/o timeout", ip()) },
		func() string { return fmt.Sprintf("GET %s: status 503", u()) },
		func() string { return fmt.Sprintf("Post %q: context deadline exceeded", u()) },
		func() string { return fmt.Sprintf("send mail to %s: mailbox unavailable", email()) },
		func() string { return fmt.Sprintf("send mail to %s: mailbox full", email()) },
		func() string { return fmt.Sprintf("job %s timed out after %s", id(), dur()) },
		func() string { return fmt.Sprintf("lease of %s expired at %s, %s ago", id(), when(), dur()) },
		func() string { return fmt.Sprintf("rpc error: code = NotFound desc = order %s not found", id()) },
		func() string { return fmt.Sprintf("rpc error: code = Internal desc = order %s not found", id()) },
		func() string { return fmt.Sprintf("charge %s: card declined", sid("ch_")) },
		func() string { return fmt.Sprintf("charge %s: card expired", sid("ch_")) },
		func() string { return fmt.Sprintf("No such customer: '%s'; request-id: %s", sid("cus_"), sid("req_")) },
		func() string { return fmt.Sprintf("payment %s of %s failed", sid("pi_"), sid("cus_")) },
		func() string {
			return fmt.Sprintf("strconv.Atoi: parsing %q: invalid syntax", rnd(1+r.IntN(8), base62))
		},
		func() string { return fmt.Sprintf("retry %s of %s in %s", num(), num(), dur()) },
		func() string { return fmt.Sprintf("user %s (%s) from %s: quota exceeded", id(), email(), ip()) },
	}
	const draws = 300
	seen := map[string]int{}
	for ti, tmpl := range templates {
		first, firstMsg := "", ""
		for range draws {
			msg := tmpl()
			fp := errorFingerprint("k", "C", msg)
			if first == "" {
				first, firstMsg = fp, msg
				continue
			}
			if fp != first {
				t.Errorf("template %d split:\n  %s\n    -> %s\n  %s\n    -> %s", ti, firstMsg, normalizeMessage(firstMsg), msg, normalizeMessage(msg))
				break
			}
		}
		if other, ok := seen[first]; ok {
			t.Errorf("templates %d and %d merged: %s", other, ti, normalizeMessage(firstMsg))
		}
		seen[first] = ti
	}
}
