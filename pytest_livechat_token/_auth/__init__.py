"""I/O: the accounts server's OAuth endpoints, the authorization URLs and answers, the person at
the terminal, the browser, the loopback receiver, and the guided login that talks to them."""
