"""Generate the synthetic lending book, in memory or streamed to Parquet chunk by chunk.

The book is generated in chunks of ``params.chunk_size`` applications; each chunk has its
own random stream derived from ``(seed, chunk index)`` and running key offsets, so a book is
the same whether it is kept in memory or written, and memory stays bounded by one chunk.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from fengkong.errors import InvalidArgumentError, NotFoundError, OutputError
from fengkong.synth.applications import plan_applications
from fengkong.synth.contracts import METHODS, REASONS, make_contracts
from fengkong.synth.identifiers import make_identifiers
from fengkong.synth.params import SynthParams, load_params
from fengkong.synth.performance import BUCKETS, STATUSES, bucket_codes, simulate
from fengkong.synth.responses import make_responses
from fengkong.synth.schemas import TABLES

__all__ = ["SyntheticBook", "generate", "iter_chunks", "read_book", "write_book"]

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class SyntheticBook:
    """The tables of a synthetic book as Polars frames (schemas in ``docs/data-model.md``)."""

    persons: pl.DataFrame
    person_identifiers: pl.DataFrame
    applications: pl.DataFrame
    loans: pl.DataFrame
    schedules: pl.DataFrame
    performance: pl.DataFrame
    oracle: pl.DataFrame
    rings: pl.DataFrame
    collection_responses: pl.DataFrame

    def tables(self) -> dict[str, pl.DataFrame]:
        """The tables by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True)
class _Offsets:
    application: int = 0
    person: int = 0
    household: int = 0
    loan: int = 0
    ring: int = 0


def _check_size(applications: int) -> None:
    if (
        isinstance(applications, bool)
        or not isinstance(applications, int | np.integer)
        or applications <= 0
    ):
        raise InvalidArgumentError("applications", expected="a positive integer", got=applications)


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidArgumentError("seed", expected="a non-negative integer", got=seed)


def _chunk(
    n: int, index: int, seed: int, params: SynthParams, off: _Offsets
) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng([seed, index])
    salt = int(np.random.default_rng([seed, 2**31]).integers(0, 2**62))  # same for every chunk
    people, apps, rings = plan_applications(rng, n, params)
    n_people, n_apps = len(people), len(apps.person)
    person_id = off.person + np.arange(n_people, dtype=np.int64)
    household_id = np.where(people.household >= 0, off.household + people.household, -1)
    ring_id = np.where(rings.of_person >= 0, off.ring + rings.of_person, -1)
    identifiers, device, ip = make_identifiers(
        rng, params, people, apps, rings, person_id, household_id, ring_id, salt
    )
    contracts = make_contracts(rng, params, people, apps)
    outcome = simulate(rng, params, people, apps, contracts)

    labels = people.labels
    application_id = off.application + np.arange(n_apps, dtype=np.int64)
    app_person = person_id[apps.person]
    age = (
        (apps.applied_at.astype("datetime64[D]") - people.birth_date[apps.person]).astype(np.int64)
        // 365.25
    ).astype(np.int64)
    persons = pl.DataFrame(
        {
            "person_id": person_id,
            "household_id": household_id,
            "birth_date": people.birth_date,
            "gender": pl.Series(labels["gender"])[people.gender],
            "province": pl.Series(labels["province"])[people.province],
            "city": pl.Series(labels["city"])[people.city],
            "education": pl.Series(labels["education"])[people.education],
            "employment_type": pl.Series(labels["employment"])[people.employment],
            "employer_id": people.employer,
            "monthly_income_fen": people.income_fen,
            "housing": pl.Series(labels["housing"])[people.housing],
            "latent_risk": people.risk,
        }
    ).with_columns(
        pl.when(pl.col("household_id") >= 0).then("household_id").alias("household_id"),
        pl.when(pl.col("employer_id") >= 0).then("employer_id").alias("employer_id"),
    )
    applications = pl.DataFrame(
        {
            "application_id": application_id,
            "person_id": app_person,
            "applied_at": apps.applied_at.astype("datetime64[us]"),
            "institution_id": apps.institution + 1,
            "channel": pl.Series(apps.channel_labels)[apps.channel],
            "product": pl.Series(apps.product_labels)[apps.product],
            "requested_amount_fen": apps.amount_fen,
            "requested_term": apps.term,
            "device_id": device,
            "ip": ip,
            "age": age,
            "bureau_inquiries_3m": apps.inquiries_3m,
            "bureau_open_loans": apps.open_loans,
            "bureau_past_delinquency": apps.past_delinquency,
            "baseline_score": contracts.score,
            "baseline_decision": np.where(contracts.approved, "approve", "decline"),
            "baseline_reason": pl.Series([*REASONS, None])[contracts.reason],
        }
    )

    booked = np.flatnonzero(contracts.approved)
    loan_of_app = np.full(n_apps, -1, dtype=np.int64)
    loan_of_app[booked] = off.loan + np.arange(len(booked))
    first_due = contracts.disbursed.astype("datetime64[M]") + 1
    loans = pl.DataFrame(
        {
            "loan_id": loan_of_app[booked],
            "application_id": application_id[booked],
            "person_id": app_person[booked],
            "institution_id": apps.institution[booked] + 1,
            "product": pl.Series(apps.product_labels)[apps.product[booked]],
            "method": pl.Series(METHODS)[contracts.method[booked]],
            "principal_fen": apps.amount_fen[booked],
            "term": apps.term[booked],
            "rate_bp": contracts.rate_bp[booked],
            "disbursed_on": contracts.disbursed[booked],
            "first_due_on": (first_due.astype("datetime64[D]") + contracts.due_day - 1)[booked],
            "total_due_fen": contracts.total_due[booked],
        }
    )
    in_book = contracts.approved[contracts.s_app]
    s_app = contracts.s_app[in_book]
    s_k = contracts.s_k[in_book]
    schedules = pl.DataFrame(
        {
            "loan_id": loan_of_app[s_app],
            "instalment": s_k,
            "due_on": (contracts.disbursed[s_app].astype("datetime64[M]") + s_k).astype(
                "datetime64[D]"
            )
            + contracts.due_day[s_app]
            - 1,
            "principal_fen": contracts.s_principal[in_book],
            "interest_fen": contracts.s_interest[in_book],
            "fee_fen": contracts.s_fee[in_book],
        }
    ).with_columns(due_fen=pl.col("principal_fen") + pl.col("interest_fen") + pl.col("fee_fen"))
    performance = pl.DataFrame(
        {
            "loan_id": loan_of_app[outcome.app],
            "mob": outcome.mob,
            "snapshot_on": outcome.snapshot,
            "scheduled_fen": outcome.scheduled,
            "paid_fen": outcome.paid,
            "paid_on": outcome.paid_on,
            "prepaid_fen": outcome.prepaid,
            "principal_balance_fen": outcome.balance,
            "overdue_fen": outcome.overdue,
            "dpd": outcome.dpd,
            "bucket": pl.Series(BUCKETS)[bucket_codes(outcome.dpd)],
            "status": pl.Series(STATUSES)[outcome.status],
            "written_off_fen": outcome.written_off,
            "recovered_fen": outcome.recovered,
        }
    ).sort("loan_id", "mob")
    oracle = pl.DataFrame(
        {
            "application_id": application_id,
            "pd": outcome.pd,
            "default_mob": outcome.default_mob,
            "ever_30dpd": outcome.ever_30,
            "ever_90dpd": outcome.ever_90,
            "first_payment_default": outcome.first_payment_default,
            "is_fraud": apps.is_fraud,
        }
    ).with_columns(pl.when(pl.col("default_mob") > 0).then("default_mob").alias("default_mob"))
    members = np.flatnonzero(rings.of_person >= 0)
    rings_frame = pl.DataFrame(
        {
            "ring_id": ring_id[members],
            "person_id": person_id[members],
            "shared_types": pl.Series([",".join(t) for t in rings.shared] or [""], dtype=pl.String)[
                rings.of_person[members]
            ],
        }
    )
    loan_risk = pl.DataFrame(
        {"loan_id": loan_of_app[booked], "latent_risk": people.risk[apps.person[booked]]}
    )
    responses = make_responses(rng, params, performance, loan_risk)

    off.application += n_apps
    off.person += n_people
    off.household += int(people.household.max(initial=-1)) + 1
    off.loan += len(booked)
    off.ring += len(rings.shared)
    frames = {
        "persons": persons,
        "person_identifiers": identifiers,
        "applications": applications,
        "loans": loans,
        "schedules": schedules,
        "performance": performance,
        "oracle": oracle,
        "rings": rings_frame,
        "collection_responses": responses,
    }
    return {
        name: frame.select(TABLES[name].schema.names()).cast(TABLES[name].schema)
        for name, frame in frames.items()
    }


def iter_chunks(
    applications: int, *, seed: int = 0, params: SynthParams | None = None
) -> Iterator[dict[str, pl.DataFrame]]:
    """Yield the book chunk by chunk: each a dict of table name to frame.

    >>> chunks = list(iter_chunks(300, seed=1))
    >>> len(chunks), chunks[0]["applications"].height
    (1, 300)
    """
    _check_size(applications)
    _check_seed(seed)
    params = params or load_params()
    offsets = _Offsets()
    for index, start in enumerate(range(0, int(applications), params.chunk_size)):
        n = min(params.chunk_size, int(applications) - start)
        t0 = time.perf_counter()
        yield _chunk(n, index, int(seed), params, offsets)
        logger.debug("chunk %d (%d applications) in %.2fs", index, n, time.perf_counter() - t0)


def generate(
    applications: int, *, seed: int = 0, params: SynthParams | None = None
) -> SyntheticBook:
    """Generate a synthetic lending book in memory.

    Parameters
    ----------
    applications : int
        Number of applications (exactly this many rows in ``applications``).
    seed : int
        Random seed; the same seed and parameters give the same book.
    params : SynthParams, optional
        Parameters; the shipped defaults when omitted (see :func:`load_params`).

    Examples
    --------
    >>> book = generate(2_000, seed=7)
    >>> book.applications.height
    2000
    >>> book.loans.height == book.applications.filter(baseline_decision="approve").height
    True
    """
    parts: dict[str, list[pl.DataFrame]] = {name: [] for name in TABLES}
    for chunk in iter_chunks(applications, seed=seed, params=params):
        for name, frame in chunk.items():
            parts[name].append(frame)
    return SyntheticBook(**{name: pl.concat(frames) for name, frames in parts.items()})


def _prepare_out(out: Path, overwrite: bool) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(str(out), "it exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError(
            str(out), "it is not empty (pass overwrite=True / --overwrite to replace it)"
        )
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as exc:
        raise OutputError(str(out), exc.strerror or str(exc)) from exc
    return staging


def write_book(
    out: str | Path,
    applications: int,
    *,
    seed: int = 0,
    params: SynthParams | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Generate a book and write it as Parquet under ``out``; returns row counts per table.

    Chunks are written to a staging folder beside ``out`` that is renamed into place only when
    everything is written, so a failure or an interrupt never leaves a half-written book.
    ``progress`` is called with the number of applications done after each chunk.
    """
    _check_size(applications)
    _check_seed(seed)
    params = params or load_params()
    out = Path(out)
    staging = _prepare_out(out, overwrite)
    counts = dict.fromkeys(TABLES, 0)
    started = time.perf_counter()
    try:
        for index, chunk in enumerate(iter_chunks(applications, seed=seed, params=params)):
            for name, frame in chunk.items():
                folder = staging / name
                folder.mkdir(exist_ok=True)
                frame.write_parquet(
                    folder / f"part-{index:05d}.parquet", compression="zstd", statistics=True
                )
                counts[name] += frame.height
            if progress is not None:
                progress(chunk["applications"].height)
        (staging / "params.yaml").write_text(
            yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False), "utf-8"
        )
        manifest = {
            "generator": "fengkong.synth",
            "schema_version": params.schema_version,
            "seed": int(seed),
            "applications": int(applications),
            "chunk_size": params.chunk_size,
            "rows": counts,
            "seconds": round(time.perf_counter() - started, 3),
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.resolve().parent))
            os.replace(out, trash / out.name)
            os.replace(staging, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(str(out), exc.strerror or str(exc)) from exc
        raise
    return counts


def read_book(path: str | Path) -> SyntheticBook:
    """Read a book written by :func:`write_book` (every table, eagerly)."""
    root = Path(path)
    missing = [name for name in TABLES if not (root / name).is_dir()]
    if missing:
        raise NotFoundError("synthetic book tables", f"{root}: {', '.join(missing)}")
    return SyntheticBook(
        **{
            name: pl.read_parquet(root / name / "*.parquet", schema=TABLES[name].schema)
            for name in TABLES
        }
    )
