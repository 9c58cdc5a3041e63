"""Small helpers every layer may use: fault points, worker pools, the editor prompt."""
