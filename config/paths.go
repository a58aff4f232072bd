package config

import "path/filepath"

// paths are the keys that name a file or directory, as pointers into c.
// A key added to the configuration that names a file belongs here (the
// test TestEveryFileKeyIsResolved finds those whose name says so).
func (c *Config) paths() []*string {
	return []*string{
		&c.StateDir,
		&c.SMTP.TLSCert, &c.SMTP.TLSKey,
		&c.Reporting.DKIM.KeyFile,
		&c.ARC.SealKeyFile,
	}
}

// resolvePaths makes every relative path the configuration names relative
// to the configuration file's directory, not to wherever a command was
// started: serve under systemd and a one-shot command in a shell must find
// the same state and keys. Empty paths (unset keys) stay empty.
func (c *Config) resolvePaths(configPath string) {
	for _, p := range c.paths() {
		if *p != "" {
			*p = resolveAgainst(configPath, *p)
		}
	}
}

// resolveAgainst is path made absolute against configPath's directory.
func resolveAgainst(configPath, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	path = filepath.Join(filepath.Dir(configPath), path)
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
