"""Starting the service's parts: Temporal, workers, the API, databases (tests, benchmarks, make run)."""
