"""The read model: SQLModel tables written by activities, read by the API."""
