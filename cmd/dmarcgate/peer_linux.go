package main

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// peerCredentials: the control socket knows its peers' uids here.
const peerCredentials = true

// peerOf reads the peer's credentials of a Unix socket (SO_PEERCRED,
// unix(7)): the kernel's word, not the client's.
func peerOf(c net.Conn) peerInfo {
	unknown := peerInfo{desc: "unknown"}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return unknown
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return unknown
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return unknown
	}
	return peerInfo{desc: fmt.Sprintf("uid=%d pid=%d", cred.Uid, cred.Pid), uid: cred.Uid, known: true}
}

// fileOwner is the uid owning the file fi describes.
func fileOwner(fi os.FileInfo) (uint32, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, true
}
