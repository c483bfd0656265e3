"""I/O: RTM on paper (frames, errors) and RTM sessions over websockets."""
