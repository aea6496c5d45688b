"""`make bench`: cold start, warm latency, memory, artifact size, scheduling throughput and cost, side by side."""
