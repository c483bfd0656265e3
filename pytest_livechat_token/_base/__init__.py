"""Pure logic, imported by everything: the token value and its expiry, the errors and warnings, the
secrets known and their masking, the settings and the environment, scopes, Personal Access
Tokens."""
