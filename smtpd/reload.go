package smtpd

// settings is what a configuration reload (SIGHUP) may change while the
// server runs, swapped whole: a session reads it once per command and
// holds no lock across I/O, so a reload never waits for a client.
type settings struct {
	cfg    Config // AcceptDomains, PostmasterAddress and the limits in force
	accept domainSet
	eval   *Evaluator // the DMARC policy in force (overrides, mode, ...)
}

// live is the settings in force now.
func (s *Server) live() *settings {
	s.init()
	return s.cur.Load()
}

// limits is go-smtp's Server.Limits hook: the limits in force now.
func (s *Server) limits() (int, int64) {
	c := &s.cur.Load().cfg
	return c.MaxRecipients, c.MaxMessageSize
}

// Reload puts new accepted domains, postmaster address, limits (message
// size, recipients, connections) and DMARC policy in force for the next
// command of every session; a transaction already in DATA finishes under
// the policy it began with. The host name, timeouts and TLS stay as Serve
// started them (they need a restart).
func (s *Server) Reload(cfg Config, pol Policy) {
	s.init()
	old := s.cur.Load()
	c := old.cfg
	c.AcceptDomains, c.PostmasterAddress = cfg.AcceptDomains, cfg.PostmasterAddress
	c.MaxMessageSize, c.MaxRecipients = cfg.MaxMessageSize, cfg.MaxRecipients
	c.MaxConnections, c.MaxConnectionsPerIP = cfg.MaxConnections, cfg.MaxConnectionsPerIP
	ev := *old.eval
	ev.Policy = pol
	PrepareMetrics(pol)
	s.cur.Store(&settings{cfg: c, accept: newDomainSet(c.AcceptDomains), eval: &ev})
	s.mu.Lock()
	for _, l := range s.listeners {
		l.setLimits(c.MaxConnections, c.MaxConnectionsPerIP)
	}
	s.mu.Unlock()
}

// setLimits changes the connection limits; admit reads them under the same
// lock. Connections already open over a lowered limit stay open.
func (l *limitListener) setLimits(maxTotal, maxPerIP int) {
	l.mu.Lock()
	l.maxTotal, l.maxPerIP = maxTotal, maxPerIP
	l.mu.Unlock()
}
