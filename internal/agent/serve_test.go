package agent

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChainHandlerServesOnlyTheChain(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"neo4j-2026-11-01T02-00-00.backup": "FULL", "neo4j-2026-11-02T02-00-00.backup": "DIFF",
		"movies-2026-11-01T02-00-00.backup": "other", "secret.txt": "no",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h, err := ChainHandler(dir, []string{"neo4j-2026-11-01T02-00-00.backup", "neo4j-2026-11-02T02-00-00.backup"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h) // 127.0.0.1
	defer srv.Close()
	get := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("GET", "/neo4j-2026-11-02T02-00-00.backup"); code != 200 || body != "DIFF" {
		t.Errorf("chain file: %d %q", code, body)
	}
	for _, path := range []string{"/", "/movies-2026-11-01T02-00-00.backup", "/secret.txt", "/../secret.txt", "/%2e%2e/secret.txt"} {
		if code, _ := get("GET", path); code != 404 {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
	for _, m := range []string{"PUT", "DELETE", "POST"} {
		if code, _ := get(m, "/neo4j-2026-11-01T02-00-00.backup"); code != 405 {
			t.Errorf("%s: %d, want 405", m, code)
		}
	}
	if _, err := ChainHandler(dir, []string{"../secret.txt"}); err == nil {
		t.Error("a path was accepted as an artifact")
	}
}
