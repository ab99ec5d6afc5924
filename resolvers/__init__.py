"""GraphQL resolvers, per-request DataLoaders and auth checks: schema -> graph/walks/media."""
