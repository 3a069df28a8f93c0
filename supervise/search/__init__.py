"""Full-text search (全文检索) across the records a user may see: `engine` (what matches, by
the policy's clauses), `highlight` (matches marked, escaped), `results` (what a result shows),
the page (`views`) and the API (`api`); `schema` names the dialect-specific structures of
migration 0022."""
