"""Pages for the people who use the service: server-rendered, Chinese first, on the same commands
and queries as the JSON API (docs/pages.md)."""
