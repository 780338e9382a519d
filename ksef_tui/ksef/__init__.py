"""The KSeF 2.0 API client (auth, sessions, receiving, errors, limits). Issue 4 fills this room."""
