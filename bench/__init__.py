"""Benchmarks of the approvals service (`make bench`, `python -m bench.run_all`)."""
