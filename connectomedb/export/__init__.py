"""Bulk export of a dataset or a selected subgraph: Arrow IPC, neuPrint and Codex CSV
bundles, GraphML. The writers (``writers``) are pure; ``stream`` runs them over the
store's keyset pages (``connectomedb.store.export``)."""
