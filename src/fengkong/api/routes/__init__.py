"""Thin routes: parse, authorise, call a use case, shape the answer."""
