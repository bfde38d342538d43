"""Identifiers of persons and applications, with sharing that looks real.

Families share an address and a home IP, and some a tablet, the home landline as an emergency
contact or (couples) a bank card; some phones are bought second hand; colleagues share an
employer and an office IP; carrier-grade NAT addresses are shared by thousands; fraud rings
share devices, bank cards, emergency contacts and sometimes mobiles. Values are deterministic functions of the seed and
of global keys, so chunks generated separately agree on shared identifiers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from fengkong.synth._draw import I64, digits, hex_strings, ipv4, permute, splitmix64, weighted_index
from fengkong.synth.applications import Applications, Rings
from fengkong.synth.params import IdentifierParams, SynthParams
from fengkong.synth.population import People

__all__ = ["make_identifiers", "mobile_numbers"]

_DAY = np.timedelta64(86_400, "s")
_VIRTUAL_BASE = 4_000_000_000  # persons outside the book (contacts) get keys from here up


def mobile_numbers(keys: I64, salt: int) -> pl.Series:
    """Unique 11-digit mainland mobile numbers (1[3-9]xxxxxxxxx) for keys below 7e9."""
    y = permute(keys % 7_000_000_000, 7_000_000_000, 1_000_003, salt % 7_000_000_000)
    return "1" + digits(3 + y // 1_000_000_000, 1) + digits(y % 1_000_000_000, 9)


def _cards(keys: I64, salt: int) -> pl.Series:
    return digits(permute(keys, 10**14, 999_999_937, salt % 10**14), 14, "62")


def _rows(person_id: I64, id_type: str, values: pl.Series, first_seen: np.ndarray) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "person_id": person_id,
            "id_value": values,
            "first_seen": first_seen.astype("datetime64[us]"),
        }
    )
    return frame.select("person_id", pl.lit(id_type).alias("id_type"), "id_value", "first_seen")


def _benign_sharing(
    rng: np.random.Generator,
    ids: IdentifierParams,
    person_id: I64,
    household_id: I64,
    in_ring: np.ndarray,
    primary_key: np.ndarray,
    salt: int,
    seen: Callable[[int], np.ndarray],
) -> list[pl.DataFrame]:
    """Sharing that is not fraud: a family tablet, the home landline as an emergency contact,
    a couple's joint card, a phone bought second hand — long established, never a burst."""
    n = len(person_id)
    if not n:
        return []
    hh = np.where(household_id >= 0, household_id, -1 - np.arange(n))
    starts = np.r_[0, np.flatnonzero(np.diff(hh)) + 1]
    sizes = np.diff(np.r_[starts, n])
    pos = np.arange(n) - np.repeat(starts, sizes)
    family = (np.repeat(sizes, sizes) > 1) & (household_id >= 0)
    draw = np.repeat(rng.random((len(sizes), 3)), sizes, axis=0)  # one draw per household
    home = np.maximum(household_id, 0)
    frames = []
    tablet = family & (draw[:, 0] < ids.family_device_share)
    frames.append(
        _rows(
            person_id[tablet],
            "device",
            hex_strings(splitmix64(home[tablet], salt + 43), "d"),
            seen(1500)[tablet],
        )
    )
    landline = family & (draw[:, 1] < ids.family_landline_share)
    frames.append(
        _rows(
            person_id[landline],
            "emergency_phone",
            mobile_numbers(_VIRTUAL_BASE + 2_900_000_000 + home[landline] % 50_000_000, salt),
            seen(1500)[landline],
        )
    )
    couple = family & (pos < 2) & (draw[:, 2] < ids.couple_card_share)
    frames.append(
        _rows(
            person_id[couple],
            "bank_card",
            _cards(9_500_000_000 + home[couple], salt + 23),
            seen(1500)[couple],
        )
    )
    regular = np.flatnonzero(~in_ring)
    buyers = regular[rng.random(len(regular)) < ids.second_hand_phone_share]
    sellers = regular[rng.integers(0, max(len(regular), 1), len(buyers))]
    frames.append(
        _rows(
            person_id[buyers],
            "device",
            hex_strings(primary_key[sellers], "d"),
            seen(365)[buyers],
        )
    )
    return frames


def make_identifiers(
    rng: np.random.Generator,
    params: SynthParams,
    people: People,
    apps: Applications,
    rings: Rings,
    person_id: I64,
    household_id: I64,
    ring_id: I64,
    salt: int,
) -> tuple[pl.DataFrame, pl.Series, pl.Series]:
    """The person-identifier table and each application's device and IP."""
    ids = params.identifiers
    n = len(people)
    first_app = np.full(n, np.datetime64("9999-01-01", "s"))
    np.minimum.at(first_app, apps.person, apps.applied_at)
    in_ring = rings.of_person >= 0
    ring_key = np.where(in_ring, ring_id, 0)

    def seen(max_days: int) -> np.ndarray:
        return np.asarray(first_app - (rng.random(n) * max_days * 86_400).astype("timedelta64[s]"))

    frames: list[pl.DataFrame] = []

    # Mobile: unique per person, except rings sharing phones (groups of three share one).
    mobile_key = person_id.copy()
    shares = {
        t: in_ring & np.array([t in s for s in rings.shared] + [False], dtype=bool)[rings.of_person]
        for t in ("mobile", "device", "bank_card", "emergency_phone")
    }
    if shares["mobile"].any():
        group_head = np.arange(n) - rings.member_rank % 3
        mobile_key[shares["mobile"]] = person_id[group_head[shares["mobile"]]]
    frames.append(_rows(person_id, "mobile", mobile_numbers(mobile_key, salt), seen(1500)))
    frames.append(
        _rows(person_id, "id_number", hex_strings(splitmix64(person_id, salt + 11)), seen(3000))
    )

    # Devices: a primary one, sometimes a second; rings share a small pool of devices.
    primary_key = splitmix64(person_id * 2, salt + 13)
    ring_device = splitmix64(ring_key * 64 + rings.member_rank // 4, salt + 17)
    primary_key = np.where(shares["device"], ring_device, primary_key)
    device_seen = np.where(
        in_ring, first_app - (rng.random(n) * 3 * 86_400).astype("timedelta64[s]"), seen(365)
    )
    primary = hex_strings(primary_key, "d")
    frames.append(_rows(person_id, "device", primary, device_seen))
    second = rng.random(n) < ids.extra_device_prob
    secondary = hex_strings(splitmix64(person_id * 2 + 1, salt + 13), "d")
    frames.append(
        _rows(person_id[second], "device", secondary.filter(pl.Series(second)), seen(365)[second])
    )

    # Address and employer.
    home_key = np.where(household_id >= 0, household_id, _VIRTUAL_BASE + person_id)
    h = splitmix64(home_key, salt + 19)
    province = pl.Series(people.labels["province"])[people.province].str.to_lowercase()
    city = pl.Series(people.labels["city"])[people.city].str.to_lowercase()
    hv = h.astype(np.int64) & 0x7FFFFFFFFFFF
    address = (
        province
        + "/"
        + city
        + "/d"
        + digits(hv % 17, 2)
        + "/road"
        + digits((hv >> 8) % 900, 3)
        + "/no"
        + digits((hv >> 20) % 300 + 1, 3)
    )
    frames.append(_rows(person_id, "address", address, seen(1000)))
    employed = people.employer >= 0
    frames.append(
        _rows(
            person_id[employed],
            "employer",
            digits(people.employer[employed], 6, "emp"),
            seen(1000)[employed],
        )
    )

    # Bank cards: one or two; rings route payouts to shared cards.
    card1 = _cards(
        np.where(
            shares["bank_card"],
            9_000_000_000 + ring_key * 8 + rings.member_rank % 8 // 4,
            person_id * 2,
        ),
        salt + 23,
    )
    frames.append(_rows(person_id, "bank_card", card1, np.where(in_ring, device_seen, seen(1500))))
    card2 = rng.random(n) < ids.extra_card_prob
    frames.append(
        _rows(
            person_id[card2],
            "bank_card",
            _cards(person_id[card2] * 2 + 1, salt + 23),
            seen(1500)[card2],
        )
    )

    # Emergency contacts: household members, friends in the book, or people outside it.
    if n:
        hh = np.where(household_id >= 0, household_id, -1 - np.arange(n))
        starts = np.r_[0, np.flatnonzero(np.diff(hh)) + 1]
        sizes = np.diff(np.r_[starts, n])
        start_of = np.repeat(starts, sizes)
        size_of = np.repeat(sizes, sizes)
        pos = np.arange(n) - start_of
        for k in range(ids.emergency_contacts):
            u = rng.random(n)
            family = (size_of > 1) & (u < ids.emergency_contact_family_share)
            friend = ~family & (u < ids.emergency_contact_family_share + 0.15)
            key = _VIRTUAL_BASE + (
                splitmix64(person_id * 8 + k, salt + 29) % np.uint64(2_900_000_000)
            ).astype(np.int64)
            other = start_of + (pos + 1 + k % np.maximum(size_of - 1, 1)) % size_of
            key = np.where(family, person_id[other], key)
            key = np.where(friend, person_id[rng.integers(0, n, n)], key)
            if k == 0:
                key = np.where(
                    shares["emergency_phone"],
                    _VIRTUAL_BASE + 2_950_000_000 + ring_key % 50_000_000,
                    key,
                )
            frames.append(
                _rows(person_id, "emergency_phone", mobile_numbers(key, salt), seen(1000))
            )

    frames += _benign_sharing(rng, ids, person_id, household_id, in_ring, primary_key, salt, seen)

    # Application devices and IPs; the IP rows of the table are the addresses actually used.
    use_second = second[apps.person] & (rng.random(len(apps.person)) < 0.2)
    device = pl.select(
        pl.when(pl.Series(use_second))
        .then(secondary.gather(apps.person))
        .otherwise(primary.gather(apps.person))
    ).to_series()
    carrier_w = 1.0 / (np.arange(ids.carrier_ips) + 10.0) ** 0.9
    carrier = ipv4(splitmix64(weighted_index(rng, carrier_w, len(apps.person)), salt + 31))
    office = ipv4(splitmix64(np.maximum(people.employer[apps.person], 0), salt + 37))
    home = ipv4(h[apps.person])
    ring_ip = ipv4(splitmix64(ring_key[apps.person], salt + 41))
    u = rng.random(len(apps.person))
    has_office = people.employer[apps.person] >= 0
    use_carrier = u < ids.carrier_ip_share
    use_office = ~use_carrier & has_office & (u < ids.carrier_ip_share + ids.office_ip_share)
    use_ring = apps.is_fraud & (rng.random(len(apps.person)) < 0.7)
    ip = pl.select(
        pl.when(pl.Series(use_ring))
        .then(ring_ip)
        .when(pl.Series(use_carrier))
        .then(carrier)
        .when(pl.Series(use_office))
        .then(office)
        .otherwise(home)
    ).to_series()
    ip_rows = (
        pl.DataFrame(
            {
                "person_id": person_id[apps.person],
                "id_value": ip,
                "first_seen": apps.applied_at.astype("datetime64[us]"),
            }
        )
        .group_by("person_id", "id_value")
        .agg(pl.col("first_seen").min())
        .with_columns(id_type=pl.lit("ip"))
        .select("person_id", "id_type", "id_value", "first_seen")
    )
    frames.append(ip_rows)
    table = (
        pl.concat(frames, how="vertical")
        .unique()
        .sort("person_id", "id_type", "id_value", "first_seen")
    )
    return table, device.alias("device_id"), ip.alias("ip")
