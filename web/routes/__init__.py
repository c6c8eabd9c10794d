"""The pages, one module per group of users."""
