package queue

import "syscall"

// freeBytes is the space on dir's file system available to us (statfs
// f_bavail: what an unprivileged writer may use).
func freeBytes(dir string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
