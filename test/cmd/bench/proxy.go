package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// countingProxy sits between the operator and the API server on 127.0.0.1 and counts every
// request by verb and resource: the operator's API cost, measured outside it, exactly.
type countingProxy struct {
	URL string
	mu  sync.Mutex
	n   map[string]int // "verb resource" -> count
	// log is every request but watches, as it ended: what each cost, and when.
	log []request
	srv *http.Server
}

// request is one request the proxy forwarded: its "verb resource", when it started, and how long
// the API server took to answer it (to the last byte of the response).
type request struct {
	key   string
	start time.Time
	took  time.Duration
}

// startProxy forwards to apiServer with token as the bearer (client-go sends no credentials to
// a plain-HTTP server, so the proxy adds the ServiceAccount's).
func startProxy(apiServer string, caPEM []byte, token string) (*countingProxy, error) {
	target, err := url.Parse(apiServer)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no CA certificate")
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
			r.Out.Header.Set("Authorization", "Bearer "+token)
		},
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 100, ForceAttemptHTTP2: true},
		FlushInterval: -1, // watches stream
	}
	p := &countingProxy{n: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.URL = "http://" + l.Addr().String()
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verb, res := classify(r)
		key := verb + " " + res
		p.mu.Lock()
		p.n[key]++
		p.mu.Unlock()
		start := time.Now()
		rp.ServeHTTP(w, r)
		if verb != "watch" {
			p.mu.Lock()
			p.log = append(p.log, request{key: key, start: start, took: time.Since(start)})
			p.mu.Unlock()
		}
	})}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// snapshot copies the counts.
func (p *countingProxy) snapshot() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.n))
	for k, v := range p.n {
		out[k] = v
	}
	return out
}

// requests are the requests that started in [from, to).
func (p *countingProxy) requests(from, to time.Time) []request {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []request
	for _, r := range p.log {
		if !r.start.Before(from) && r.start.Before(to) {
			out = append(out, r)
		}
	}
	return out
}

// classify names a request as kubectl would: verb (get, list, watch, create, update, patch,
// delete) and resource (with its subresource, e.g. backups/status).
func classify(r *http.Request) (verb, resource string) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// /api/v1/... or /apis/<group>/<version>/...
	i := 0
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		i = 2
	case len(parts) >= 3 && parts[0] == "apis":
		i = 3
	default:
		return strings.ToLower(r.Method), "(" + r.URL.Path + ")"
	}
	rest := parts[i:]
	if len(rest) >= 3 && rest[0] == "namespaces" {
		rest = rest[2:]
	}
	name := ""
	if len(rest) == 0 {
		return strings.ToLower(r.Method), "(discovery)"
	}
	resource = rest[0]
	if len(rest) >= 2 {
		name = rest[1]
	}
	if len(rest) >= 3 {
		resource += "/" + rest[2]
	}
	switch r.Method {
	case http.MethodGet:
		switch {
		case r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1":
			verb = "watch"
		case name == "":
			verb = "list"
		default:
			verb = "get"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
	default:
		verb = strings.ToLower(r.Method)
	}
	return verb, resource
}

// diff is after - before, keys sorted, zero entries dropped.
func diff(before, after map[string]int) []kv {
	var out []kv
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out = append(out, kv{k, d})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].k < out[j].k
	})
	return out
}

type kv struct {
	k string
	n int
}

func isWrite(verbResource string) bool {
	v, _, _ := strings.Cut(verbResource, " ")
	switch v {
	case "create", "update", "patch", "delete":
		return true
	}
	return false
}
