// Package images builds the images the cluster in a box's real node runs, without Docker: the
// operator image from its one definition (internal/image.Operator, which the Dockerfile spells
// too), a stand-in of Neo4j's official image with the strict neo4j-admin and cypher-shell
// stand-ins in it, and the pod sandbox (pause) image. Each is a docker-archive tarball that
// `ctr images import` loads.
package images

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/graphkeeper/neo4j-backup-operator/internal/image"
)

const module = "github.com/graphkeeper/neo4j-backup-operator"

// Binary builds the package pkg of this module (e.g. "test/standin/neo4j-admin", "" for the
// operator) as a static binary at out, with the operator image's build flags.
func Binary(ctx context.Context, pkg, out string) error {
	path := module
	if pkg != "" {
		path += "/" + pkg
	}
	args := append(append([]string{"build"}, image.BuildFlags...), "-o", out, path)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Operator writes the operator image, tagged ref, around the binary at bin (the one Binary
// builds from ""), into dir and returns the tarball's path.
func Operator(bin, dir, ref string) (string, error) {
	img, err := image.Operator(bin)
	if err != nil {
		return "", err
	}
	return write(dir, ref, img)
}

// Neo4jHome and the user are the official image's (neo4j/docker-neo4j,
// docker-image-src/5/coredb/Dockerfile-ubi9: NEO4J_HOME="/var/lib/neo4j", `groupadd --gid 7474
// --system neo4j && useradd --uid 7474`, data and logs moved to /data and /logs and linked back,
// `ENV PATH="${NEO4J_HOME}"/bin:$PATH`, `WORKDIR "${NEO4J_HOME}"`; the 4.4 Dockerfiles lay it out
// the same way).
const (
	Neo4jHome = "/var/lib/neo4j"
	Neo4jUID  = 7474
)

// Neo4j writes a stand-in of Neo4j's official Enterprise image that plays version (5.26,
// 2025.10, 4.4, ...), tagged ref, into dir: the official image's layout, with the strict
// stand-ins as bin/neo4j-admin and bin/cypher-shell (built into dir first). Its JVM really takes
// its heap and page cache (STANDIN_JVM_MEMORY), so memory limits are met as with the real tool.
func Neo4j(ctx context.Context, dir, ref, version string) (string, error) {
	var files []image.File
	for _, tool := range []string{"neo4j-admin", "cypher-shell"} {
		bin := filepath.Join(dir, "standin-"+tool)
		if err := Binary(ctx, "test/standin/"+tool, bin); err != nil {
			return "", err
		}
		files = append(files, image.File{Path: Neo4jHome + "/bin/" + tool, Mode: 0o755, UID: Neo4jUID, GID: Neo4jUID, Source: bin})
	}
	dirs := func(mode int64, paths ...string) {
		for _, p := range paths {
			files = append(files, image.File{Path: p, Dir: true, Mode: mode, UID: Neo4jUID, GID: Neo4jUID})
		}
	}
	// `chmod -R 777 /data`, `/logs`, `"${NEO4J_HOME}"`; `chmod -R 755 "${NEO4J_HOME}/bin"`.
	dirs(0o777, "/data", "/logs", Neo4jHome, Neo4jHome+"/conf", Neo4jHome+"/plugins", Neo4jHome+"/import")
	dirs(0o755, Neo4jHome+"/bin")
	files = append(files,
		image.File{Path: Neo4jHome + "/data", Link: "/data"},
		image.File{Path: Neo4jHome + "/logs", Link: "/logs"},
		image.File{Path: Neo4jHome + "/conf/neo4j.conf", Mode: 0o777, UID: Neo4jUID, GID: Neo4jUID,
			Data: []byte("# The stand-in image's configuration: Neo4j's defaults, which the stand-ins follow.\nserver.directories.data=/data\nserver.directories.logs=/logs\n")},
		image.File{Path: "/tmp", Dir: true, Mode: 0o1777},
		image.File{Path: "/etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nneo4j:x:7474:7474::/var/lib/neo4j:/sbin/nologin\n")},
		image.File{Path: "/etc/group", Mode: 0o644, Data: []byte("root:x:0:\nneo4j:x:7474:\n")},
	)
	img, err := image.Build(files, image.Config{
		WorkingDir: Neo4jHome,
		Env: []string{
			"NEO4J_HOME=" + Neo4jHome, "NEO4J_EDITION=enterprise", "LANG=C.UTF-8",
			"PATH=" + Neo4jHome + "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			// What the stand-ins play (the real image is that version).
			"STANDIN_NEO4J_VERSION=" + version, "STANDIN_JVM_MEMORY=1", "STANDIN_DATA_DIR=/data",
		},
	})
	if err != nil {
		return "", err
	}
	return write(dir, ref, img)
}

// Pause writes the pod sandbox image, tagged ref, into dir.
func Pause(ctx context.Context, dir, ref string) (string, error) {
	bin := filepath.Join(dir, "pause")
	if err := Binary(ctx, "test/images/pause", bin); err != nil {
		return "", err
	}
	img, err := image.Build([]image.File{{Path: "/pause", Mode: 0o755, Source: bin}}, image.Config{Entrypoint: []string{"/pause"}, User: "65535:65535"})
	if err != nil {
		return "", err
	}
	return write(dir, ref, img)
}

// write writes img tagged ref into dir, named after the ref.
func write(dir, ref string, img v1.Image) (string, error) {
	file := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(ref)+".tar")
	return file, image.Write(file, ref, img)
}
