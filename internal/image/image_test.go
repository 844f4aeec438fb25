package image

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestOperatorAgreesWithTheDockerfile holds the two spellings of the operator image together:
// the Dockerfile's final stage and Operator.
func TestOperatorAgreesWithTheDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var build string
	var final []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "FROM ") {
			final = nil
		}
		if strings.Contains(line, "go build") {
			build = line
		}
		final = append(final, line)
	}
	if len(final) == 0 || final[0] != "FROM scratch" {
		t.Fatalf("the Dockerfile's final stage is %q, want FROM scratch", final)
	}
	want := map[string]string{
		"COPY":       "--from=build /out/neo4j-backup-operator " + OperatorBinary,
		"USER":       OperatorUser,
		"ENTRYPOINT": `["` + OperatorBinary + `"]`,
	}
	got := map[string]string{}
	for _, line := range final[1:] {
		instr, arg, _ := strings.Cut(line, " ")
		if _, ok := got[instr]; ok {
			t.Errorf("the final stage has %s twice: the image holds more than the binary", instr)
		}
		got[instr] = arg
	}
	for instr, arg := range want {
		if got[instr] != arg {
			t.Errorf("Dockerfile %s %q, image.Operator has %q", instr, got[instr], arg)
		}
	}
	for instr := range got {
		if _, ok := want[instr]; !ok {
			t.Errorf("the Dockerfile's final stage has %s, which image.Operator does not", instr)
		}
	}
	// The binary is built the same way: static (no cgo), stripped, trimmed.
	flags := regexp.MustCompile(`CGO_ENABLED=0 go build (.*) -o `).FindStringSubmatch(build)
	if flags == nil {
		t.Fatalf("no CGO_ENABLED=0 go build in the Dockerfile (%q)", build)
	}
	if f := strings.ReplaceAll(flags[1], `"`, ""); f != strings.ReplaceAll(strings.Join(BuildFlags, " "), "=", " ") {
		t.Errorf("Dockerfile builds with %q, the tests' image with %q", flags[1], BuildFlags)
	}
}

// TestOperatorTarball writes the operator image and reads it back as `docker load` or
// `ctr images import` would: one layer holding the binary only, its entrypoint and user.
func TestOperatorTarball(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "neo4j-backup-operator")
	if err := os.WriteFile(bin, []byte("\x7fELF not really"), 0o700); err != nil {
		t.Fatal(err)
	}
	img, err := Operator(bin)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "image.tar")
	if err := Write(file, "graphkeeper/neo4j-backup-operator:1.2.3", img); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("graphkeeper/neo4j-backup-operator:1.2.3")
	back, err := tarball.ImageFromPath(file, &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || cf.Config.User != OperatorUser ||
		!slices.Equal(cf.Config.Entrypoint, []string{OperatorBinary}) {
		cfg, _ := json.Marshal(cf)
		t.Fatalf("config %s", cfg)
	}
	layers, err := back.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v; want one", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var entries []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, h.Name)
		if h.Name == strings.TrimPrefix(OperatorBinary, "/") {
			data, _ := io.ReadAll(tr)
			if string(data) != "\x7fELF not really" || h.Mode != 0o755 || h.Uid != 0 {
				t.Errorf("binary entry: mode %o uid %d, %q", h.Mode, h.Uid, data)
			}
		}
	}
	if !slices.Equal(entries, []string{"neo4j-backup-operator"}) {
		t.Errorf("layer holds %q, want the binary only", entries)
	}
	// The same files give the same image.
	again, _ := Operator(bin)
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two builds of the same binary differ: %s, %s", d1, d2)
	}
}
