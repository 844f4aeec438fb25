// Package image builds container images without Docker, with go-containerregistry (the library
// ko and crane are built on): one layer made from files in memory or on disk, an image config,
// and a docker-archive tarball that `docker load`, `ctr images import` and `crane push` take.
//
// Operator is the operator image's definition. The Dockerfile spells the same image for Docker
// (its final stage: FROM scratch, the one binary, USER, ENTRYPOINT) and a test keeps the two
// agreeing.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The operator image: the static binary at OperatorBinary, run as OperatorUser, nothing else.
const (
	OperatorBinary = "/neo4j-backup-operator"
	// OperatorUser is a non-root uid:gid with no name: the image has no /etc/passwd.
	OperatorUser = "65532:65532"
)

// BuildFlags are the `go build` flags of the operator binary (with CGO_ENABLED=0): static,
// stripped, no local paths.
var BuildFlags = []string{"-trimpath", "-ldflags=-s -w"}

// File is one entry of a layer. A Dir has no Data; a Link is a symbolic link to Link.
type File struct {
	Path     string
	Mode     int64
	UID, GID int
	Dir      bool
	Link     string
	Data     []byte
	// Source, when set, is a file on disk read for the contents instead of Data.
	Source string
}

// Config is what the image runs and how.
type Config struct {
	Entrypoint []string
	Cmd        []string
	User       string
	WorkingDir string
	Env        []string
}

// epoch is every entry's and the image's time: the same files give the same digest.
var epoch = time.Unix(0, 0).UTC()

// Build makes a linux/amd64 image of one layer holding files, configured by cfg.
func Build(files []File, cfg Config) (v1.Image, error) {
	data, err := layerTar(files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint, cf.Config.Cmd = cfg.Entrypoint, cfg.Cmd
	cf.Config.User, cf.Config.WorkingDir, cf.Config.Env = cfg.User, cfg.WorkingDir, cfg.Env
	return mutate.ConfigFile(img, cf)
}

// Operator is the operator image around the static binary at binary (built as the Dockerfile
// builds it: CGO_ENABLED=0, -trimpath, -ldflags "-s -w").
func Operator(binary string) (v1.Image, error) {
	return Build([]File{{Path: OperatorBinary, Mode: 0o755, Source: binary}}, Config{
		Entrypoint: []string{OperatorBinary},
		User:       OperatorUser,
	})
}

// Write writes img as a docker-archive tarball tagged ref (e.g.
// graphkeeper/neo4j-backup-operator:0.4.0).
func Write(file, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image name %q: %w", ref, err)
	}
	return tarball.WriteToFile(file, tag, img)
}

// layerTar is the layer's tar: parents before children, every folder on the way listed.
func layerTar(files []File) ([]byte, error) {
	entries := map[string]File{}
	for _, f := range files {
		p := strings.TrimPrefix(path.Clean("/"+f.Path), "/")
		if p == "" {
			return nil, fmt.Errorf("file with no path")
		}
		f.Path = p
		entries[p] = f
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				entries[d] = File{Path: d, Dir: true, Mode: 0o755}
			}
		}
	}
	names := make([]string, 0, len(entries))
	for p := range entries {
		names = append(names, p)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range names {
		f := entries[p]
		hdr := &tar.Header{Name: p, Mode: f.Mode, Uid: f.UID, Gid: f.GID, ModTime: epoch, Format: tar.FormatPAX}
		var data []byte
		switch {
		case f.Dir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, p+"/"
		case f.Link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Link
		default:
			data = f.Data
			if f.Source != "" {
				var err error
				if data, err = os.ReadFile(f.Source); err != nil {
					return nil, err
				}
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
