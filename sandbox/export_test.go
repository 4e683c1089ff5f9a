package sandbox

// Windows lets the external tests see how many rate-limit windows are live.
func (s *Sandbox) Windows() int { return s.windows() }
