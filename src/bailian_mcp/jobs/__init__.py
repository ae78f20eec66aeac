"""Jobs: the durable store, the runner that takes a job from request to saved result, and job administration."""
