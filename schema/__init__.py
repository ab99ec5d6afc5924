"""strawberry GraphQL types, inputs, enums and the Schema object (see docs/api.md)."""
