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
	if err := unix.Statfs(dir, &st); err != nil {
		return nil
	}
	// Blocks are counted in fragment-size units (statfs(2): f_frsize; 0 on kernels that leave it
	// unset, then f_bsize). Figures that overflow or make no sense are not reported.
	unit := uint64(st.Frsize)
	if unit == 0 {
		unit = uint64(st.Bsize)
	}
	const max = uint64(1) << 62
	if unit == 0 || st.Blocks == 0 || st.Blocks > max/unit || st.Bavail > st.Blocks {
		return nil
	}
	return &result.Space{Capacity: int64(st.Blocks * unit), Free: int64(st.Bavail * unit)}
}
