"""The service as an MCP server: tools that each run one GraphQL operation with the
caller's rights, over stdio (``connectomedb mcp``) or HTTP (``/mcp`` in the API)."""
