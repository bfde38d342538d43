import hashlib
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from fengkong.errors import InvalidArgumentError, NotFoundError, OutputError
from fengkong.synth import TABLES, generate, load_params, read_book, write_book
from fengkong.synth.schemas import markdown


def _digest(folder):
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*.parquet")):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_gives_identical_files_and_different_seeds_differ(tmp_path):
    write_book(tmp_path / "a", 3_000, seed=5)
    write_book(tmp_path / "b", 3_000, seed=5)
    write_book(tmp_path / "c", 3_000, seed=6)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_written_book_reads_back_equal_to_the_in_memory_one(tmp_path):
    params = load_params(overrides={"chunk_size": 1_500})
    counts = write_book(tmp_path / "book", 4_000, seed=3, params=params)
    book = generate(4_000, seed=3, params=params)
    back = read_book(tmp_path / "book")
    for name, frame in book.tables().items():
        assert counts[name] == frame.height
        assert_frame_equal(back.tables()[name], frame)
    assert len(list((tmp_path / "book" / "applications").glob("*.parquet"))) == 3
    assert (tmp_path / "book" / "manifest.json").exists()
    assert load_params(tmp_path / "book" / "params.yaml") == params


def test_keys_stay_unique_across_chunks():
    params = load_params(overrides={"chunk_size": 1_000})
    book = generate(3_500, seed=2, params=params)
    assert book.applications.height == 3_500
    for table, key in [
        ("applications", "application_id"),
        ("persons", "person_id"),
        ("loans", "loan_id"),
    ]:
        assert book.tables()[table][key].is_unique().all()
    mobiles = book.person_identifiers.filter(id_type="id_number")
    assert mobiles["id_value"].n_unique() == book.persons.height


def test_every_table_has_its_documented_schema(small_book):
    for name, frame in small_book.tables().items():
        assert frame.schema == TABLES[name].schema, name
        assert frame.height > 0, name


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_non_positive_sizes_are_refused(n):
    with pytest.raises(InvalidArgumentError, match="applications"):
        generate(n)


def test_negative_seed_is_refused():
    with pytest.raises(InvalidArgumentError, match="seed"):
        generate(10, seed=-1)


def test_unwritable_output_leaves_nothing_behind(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError):
        write_book(blocker / "book", 100)
    with pytest.raises(OutputError, match="not a directory"):
        write_book(blocker, 100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_non_empty_output_needs_overwrite_and_a_failure_keeps_the_old_book(tmp_path, monkeypatch):
    out = tmp_path / "book"
    write_book(out, 500, seed=1)
    before = _digest(out)
    with pytest.raises(OutputError, match="not empty"):
        write_book(out, 500, seed=2)

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", boom)
    with pytest.raises(RuntimeError):
        write_book(out, 500, seed=2, overwrite=True)
    monkeypatch.undo()
    assert _digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book"]
    write_book(out, 500, seed=2, overwrite=True)
    assert _digest(out) != before


def test_reading_something_that_is_not_a_book(tmp_path):
    with pytest.raises(NotFoundError, match="applications"):
        read_book(tmp_path)


def test_the_data_model_page_is_generated_from_the_schemas():
    page = Path(__file__).resolve().parents[3] / "docs" / "data-model.md"
    assert page.read_text("utf-8") == markdown(), (
        "run: python -m fengkong.synth.schemas > docs/data-model.md"
    )
