package nn

// These interfaces copy the method sets of flow.VelocityField, flow.TraceField
// and flow.JVPField (flow/field.go). Package nn must not import flow (flow sits
// above nn), so the check is structural: if flow's contract changes, update
// this copy.
type (
	velocityField interface {
		Dim() int
		Velocity(t float64, x []float64, n int, v []float64)
	}
	traceField interface {
		velocityField
		VelocityTrace(t float64, x []float64, n int, v, div []float64)
	}
	jvpField interface {
		velocityField
		VelocityJVP(t float64, x []float64, n int, u, v, jv []float64)
	}
)

// *MLP[float64] satisfies all three at compile time.
var (
	_ velocityField = (*MLP[float64])(nil)
	_ traceField    = (*MLP[float64])(nil)
	_ jvpField      = (*MLP[float64])(nil)
)
