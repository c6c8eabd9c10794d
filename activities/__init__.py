"""Side effects of the workflows: read-model writes, deadline computation, notifications."""
