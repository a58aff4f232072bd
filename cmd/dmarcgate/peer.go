package main

import (
	"context"
	"fmt"
	"net"
	"os"
)

// Who asked for a change is part of its log line: the uid of the process
// at the other end of the control socket, or ours when the command changes
// the state itself.

type peerKey struct{}

// withPeer remembers the control connection's peer in the requests' context.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, peerKey{}, peerOf(c))
}

// requester names who asked for the operation running under ctx.
func requester(ctx context.Context) string {
	if p, ok := ctx.Value(peerKey{}).(string); ok {
		return p
	}
	return fmt.Sprintf("uid=%d pid=%d (this command)", os.Getuid(), os.Getpid())
}
