"""The batch engine against values worked out by hand on a six-application book."""

from __future__ import annotations

import polars as pl
import pytest

from fengkong.errors import InvalidArgumentError
from fengkong.features import build_variables, load_spec, write_variables
from fengkong.features.spec import VariableSpec


def test_hand_computed_person_counts(spec: VariableSpec, apps: pl.DataFrame) -> None:
    out = build_variables(spec, {"app": apps}, target="app")
    got = out.select("id", "app_cnt_person_1d", "app_cnt_person_7d", "app_cnt_person_all").rows()
    # 1: nothing before; 2: app 1 two hours earlier; 3: person 8's first; 4: 1 and 2 (28 h and
    # 30 h before: outside 1 d); 5: nine days later, all three earlier outside 7 d; 6: no person.
    assert got == [
        (1, 0, 0, 0),
        (2, 1, 1, 1),
        (3, 0, 0, 0),
        (4, 0, 2, 2),
        (5, 0, 0, 3),
        (6, None, None, None),
    ]


def test_hand_computed_statistics(spec: VariableSpec, apps: pl.DataFrame) -> None:
    out = build_variables(spec, {"app": apps}, target="app").rows_by_key(
        "id", named=True, unique=True
    )
    four = out[4]
    assert four["app_dcnt_inst_person_7d"] == 2
    assert four["app_sum_amt_person_7d"] == 4_000_00
    assert four["app_max_amt_person_7d"] == 3_000_00
    assert four["app_share_h5_person_7d"] == 0.5
    assert four["app_dlast_person_all"] == 28 / 24
    assert four["app_cnt_device_all"] is None  # application 4 has no device
    assert four["app_cnt_person_1d_vs_7d"] == 0.0
    assert four["amt_per_app_7d"] == 2_000_00
    assert out[1]["app_cnt_person_1d_vs_7d"] is None  # 0 / 0
    assert out[1]["app_max_amt_person_7d"] is None
    assert out[5]["app_sum_amt_person_all"] == 4_500_00
    assert out[5]["app_dcnt_inst_person_all"] == 2


def test_exclusive_boundary_hides_ties_inclusive_shows_earlier_ids(
    apps: pl.DataFrame, spec_text: str
) -> None:
    tied = apps.with_columns(pl.lit(7).alias("pid"), pl.lit(apps["at"][1]).alias("at"))
    exclusive = build_variables(load_spec(spec_text), {"app": tied}, target="app")
    inclusive = build_variables(
        load_spec(spec_text + "boundary: inclusive\n"), {"app": tied}, target="app"
    )
    assert exclusive["app_cnt_person_all"].to_list() == [0] * 6
    assert inclusive["app_cnt_person_all"].to_list() == [0, 1, 2, 3, 4, 5]


def test_other_targets_are_scored_against_all_events(
    spec: VariableSpec, apps: pl.DataFrame
) -> None:
    later = apps.head(1).with_columns(pl.lit(99).alias("id"), pl.col("at") + pl.duration(days=10))
    out = build_variables(spec, {"app": apps}, target="app", targets=later)
    assert out.row(0, named=True)["app_cnt_person_all"] == 4
    assert out.row(0, named=True)["app_cnt_person_7d"] == 1


def test_write_variables_streams_to_parquet(
    spec: VariableSpec, apps: pl.DataFrame, tmp_path
) -> None:
    out = tmp_path / "vars.parquet"
    assert write_variables(spec, {"app": apps}, out, target="app", row_group=4) == 6
    written = pl.read_parquet(out)
    assert written.equals(build_variables(spec, {"app": apps}, target="app"))
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda f: f.drop("amount_fen"), "events.app.amount_fen"),
        (lambda f: f.with_columns(pl.lit(None, pl.Datetime("us")).alias("at")), "events.app.at"),
        (lambda f: f.with_columns(pl.lit("x").alias("at")), "at"),
    ],
)
def test_bad_events_name_the_field(
    spec: VariableSpec, apps: pl.DataFrame, change, field: str
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        build_variables(spec, {"app": change(apps)}, target="app")
    assert info.value.field == field


def test_missing_source_and_unknown_target(spec: VariableSpec, apps: pl.DataFrame) -> None:
    with pytest.raises(InvalidArgumentError, match=r"events\.app"):
        build_variables(spec, {}, target="app")
    with pytest.raises(InvalidArgumentError, match="target"):
        build_variables(spec, {"app": apps}, target="loans")
