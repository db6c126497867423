"""How services run. `process` (direct deployment) is the first driver; others (compose)
implement the same small interface."""
