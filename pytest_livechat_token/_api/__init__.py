"""I/O: the Web API clients (sync and async) and their transport."""
