"""The GraphQL API service (strawberry on FastAPI)."""
