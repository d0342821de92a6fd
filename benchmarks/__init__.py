"""Performance benchmarks with ratios against peer libraries (``make bench``)."""
