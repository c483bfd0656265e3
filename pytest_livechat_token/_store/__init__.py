"""I/O: the token cache on disk (one private file, the process locks beside it, the cache format
over both)."""
