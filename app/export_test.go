package app

// HeldLogins returns how many login results the replay window holds.
func (a *App) HeldLogins() int { return a.Login.flights.held() }
