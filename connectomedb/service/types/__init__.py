"""GraphQL types, one module per domain. Storage rows become these through ``from_row``;
resolvers on them fetch nested data through the request's DataLoaders (one query per
level, never per object)."""
