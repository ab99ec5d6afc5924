"""Redis-backed caches in front of the graph store: board pages, home feeds and anonymous
GraphQL answers. Losing any of them loses no data."""
