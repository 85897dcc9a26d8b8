package app

// HeldLogins returns how many login results the replay window holds.
func (s *Service) HeldLogins() int { return s.logins.held() }
