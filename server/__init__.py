"""The pingraph service: Starlette app, lifespan, settings, embedded services and the CLI."""
