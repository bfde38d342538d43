"""Use cases: open a unit of work, load through the database, call the pure core, write back."""
