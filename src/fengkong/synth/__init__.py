"""The deterministic synthetic lending book: the shared workload of the demo, tests and benchmarks.

>>> from fengkong.synth import generate
>>> book = generate(1_000, seed=3)
>>> sorted(book.tables())[:3]
['applications', 'collection_responses', 'loans']
"""

from fengkong.synth.book import SyntheticBook, generate, iter_chunks, read_book, write_book
from fengkong.synth.params import SynthParams, default_params_text, load_params
from fengkong.synth.schemas import TABLES

__all__ = [
    "TABLES",
    "SynthParams",
    "SyntheticBook",
    "default_params_text",
    "generate",
    "iter_chunks",
    "load_params",
    "read_book",
    "write_book",
]
