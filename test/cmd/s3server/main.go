// Command s3server serves the test bed's S3-compatible server (gofakes3, in memory;
// test/objectstore) on --listen until it is stopped. The cluster in a box runs it inside the real
// node's network namespace, where pods reach it at the pod bridge's gateway address: an address
// of a namespace the test made, never the machine's network.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/graphkeeper/neo4j-backup-operator/test/objectstore"
)

func main() {
	listen := flag.String("listen", ":9000", "address to listen on")
	buckets := flag.String("buckets", "backups", "comma-separated buckets to create")
	flag.Parse()
	handler, err := objectstore.S3Handler(strings.Split(*buckets, ",")...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3server:", err)
		os.Exit(2)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3server:", err)
		os.Exit(2)
	}
	fmt.Printf("s3server: serving buckets %s on %s\n", *buckets, l.Addr())
	srv := &http.Server{Handler: logged(handler), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, "s3server:", srv.Serve(l))
	os.Exit(1)
}

// logged writes one line per request, so a failed test's logs show what the pods asked.
func logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("%s %s %s\n", time.Now().UTC().Format(time.RFC3339), r.Method, r.URL.Path)
		h.ServeHTTP(w, r)
	})
}
