"""Types every package may import without pulling in a driver, GraphQL or numba: the domain
errors and the caller's identity."""
