"""Query and Mutation fields, one module per domain; ``service.schema`` merges them."""
