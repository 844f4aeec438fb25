package agent

import (
	"golang.org/x/sys/unix"

	"github.com/graphkeeper/neo4j-backup-operator/internal/result"
)

// space reads the volume dir is on: its capacity and the bytes free to a writer that is not root
// (statfs's available blocks, not its free ones: the agent does not run as root). Nil when it
// cannot be read.
func space(dir string) *result.Space {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Blocks == 0 {
		return nil
	}
	bs := int64(st.Bsize)
	return &result.Space{Capacity: int64(st.Blocks) * bs, Free: int64(st.Bavail) * bs}
}
