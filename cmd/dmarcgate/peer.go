package main

import (
	"context"
	"fmt"
	"net"
	"os"
)

// Who asked for a change is part of its log line: the uid of the process
// at the other end of the control socket, or ours when the command changes
// the state itself. The uid also decides whether the peer may ask at all
// (onlyPeers).

type peerKey struct{}

// peerInfo is what the kernel says about a control connection's peer.
type peerInfo struct {
	desc  string // "uid=… pid=…", or "unknown"
	uid   uint32
	known bool // uid was read
}

// withPeer remembers the control connection's peer in the requests' context.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, peerKey{}, peerOf(c))
}

// requester names who asked for the operation running under ctx.
func requester(ctx context.Context) string {
	if p, ok := ctx.Value(peerKey{}).(peerInfo); ok {
		return p.desc
	}
	return fmt.Sprintf("uid=%d pid=%d (this command)", os.Getuid(), os.Getpid())
}

// peerUIDOf is the uid of the control connection's peer, when known.
func peerUIDOf(ctx context.Context) (uint32, bool) {
	p, ok := ctx.Value(peerKey{}).(peerInfo)
	return p.uid, ok && p.known
}
