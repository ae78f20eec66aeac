"""The batch runner: a JSON file of tasks, checked together, run concurrently, reported, and resumable."""
