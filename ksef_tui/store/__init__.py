"""tinydb behind repositories: atomic storage, single-writer lock, schema versions. Issue 5 fills this room."""
