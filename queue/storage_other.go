//go:build !linux

package queue

// freeBytes: free space is read on Linux only; elsewhere no floor applies.
func freeBytes(string) (int64, bool) { return 0, false }
