package main

import (
	"os"
	"runtime"
)

// withCommitProc gives the daemon's runtime one scheduler slot (P) more
// than the CPUs it found, unless GOMAXPROCS is set. The group commit waits
// in fdatasync on a P of its own about a third of the time under load.
// With no P to spare, the runtime's monitor takes that P back during every
// fsync and hands it to another thread, and since that keeps happening it
// never slows its own 20 µs polling down: together that costs more CPU
// than the commit. With one P spare, the other goroutines keep every CPU
// busy while the commit waits on the disk.
func withCommitProc() {
	runtime.GOMAXPROCS(commitProcs(os.Getenv("GOMAXPROCS"), runtime.GOMAXPROCS(0)))
}

// commitProcs is the number of Ps for a runtime that has current, given
// the GOMAXPROCS environment variable (which always wins).
func commitProcs(env string, current int) int {
	if env != "" {
		return current
	}
	return current + 1
}
