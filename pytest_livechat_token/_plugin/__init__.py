"""The pytest front end's parts: what a process keeps in config.stash, the report header, masking,
cassettes, stand-ins and RTM sessions for fixtures."""
