"""Orchestration: one run of a front end, the lookup order, the lock-and-renew protocol and the
login of an account, customers, and the xdist hand-off."""
