"""Scripts run inside peer libraries' own virtual environments (see ``benchmarks._peers``)."""
