package pipeline

import "github.com/iterflow/iterflow/ode"

// ODE returns the ode.Options of s after checking them; errors name key
// (e.g. "eval.solver: ..." or "eval: dopri5 needs positive rtol and atol").
func (s SolverConfig) ODE(key string) (ode.Options, error) {
	return s.options(key)
}
