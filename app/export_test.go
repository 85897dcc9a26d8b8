package app

// HeldLogins returns how many login results the replay window holds.
func (a *App) HeldLogins() int { return a.Login.flights.held() }

// LoginSweeperRunning reports whether the replay window's sweeper runs.
func (a *App) LoginSweeperRunning() bool {
	f := a.Login.flights
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sweeping
}
