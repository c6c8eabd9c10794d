"""Pure rules of the approval chain, shared by workflows, activities and the API (no I/O)."""
