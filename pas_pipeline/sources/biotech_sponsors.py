"""Which trial / drug-application sponsor stands for which ticker (data, not code).

The real mapping lives in ``pas_pipeline/data/biotech_sponsors.csv`` (versioned with the
code) with columns:

================= =====================================================================
column            meaning
================= =====================================================================
ticker            the listed company (only tickers of ``sample_companies.csv``)
sponsor_name      the lead-sponsor name exactly as ClinicalTrials.gov spells it
                  (``leadSponsor.name``, e.g. ``"Merck Sharp & Dohme LLC"``)
fda_sponsor_name  a phrase of the Drugs@FDA ``sponsor_name`` (openFDA upper-cases and
                  abbreviates applicant names, e.g. ``"PFIZER INC"``; the field is
                  tokenised, so the phrase ``"PFIZER"`` matches it). Empty: the upper-cased
                  ``sponsor_name``
================= =====================================================================

:func:`synthetic_biotech_sponsors` extends it with the sample universe's made-up Health Care
companies whose names end in Therapeutics, Biosciences or Pharmaceuticals (before the legal
suffix), each its own sponsor under its full company name.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import pandas as pd

SPONSOR_COLUMNS = ("ticker", "sponsor_name", "fda_sponsor_name")
BIOTECH_NOUNS = ("Therapeutics", "Biosciences", "Pharmaceuticals")
_LEGAL_SUFFIX = r"(?:\s+(?:Inc\.|Corp\.|Holdings Inc\.|Group Inc\.|Corporation))?"
_BIOTECH_NAME = re.compile(rf"\b(?:{'|'.join(BIOTECH_NOUNS)}){_LEGAL_SUFFIX}$")


def _read_data_csv(name: str) -> pd.DataFrame:
    with resources.files("pas_pipeline.data").joinpath(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@cache
def _real_sponsors() -> pd.DataFrame:
    frame = _read_data_csv("biotech_sponsors.csv")
    missing = sorted(set(SPONSOR_COLUMNS) - set(frame.columns))
    if missing:
        raise ValueError(f"biotech_sponsors.csv lacks columns {missing}")
    frame = frame[list(SPONSOR_COLUMNS)].apply(lambda column: column.str.strip())
    empty = frame["fda_sponsor_name"] == ""
    frame.loc[empty, "fda_sponsor_name"] = frame.loc[empty, "sponsor_name"].str.upper()
    if frame["ticker"].duplicated().any() or (frame[["ticker", "sponsor_name"]] == "").any(
        axis=None
    ):
        raise ValueError("biotech_sponsors.csv needs one row per ticker with a sponsor name")
    companies = set(_read_data_csv("sample_companies.csv")["ticker"])
    unknown = sorted(set(frame["ticker"]) - companies)
    if unknown:
        raise ValueError(f"biotech_sponsors.csv has tickers not in sample_companies.csv: {unknown}")
    return frame


def real_biotech_sponsors() -> pd.DataFrame:
    """The versioned mapping of real companies (:data:`SPONSOR_COLUMNS`, all text)."""
    return _real_sponsors().copy()


def is_biotech_name(name: str) -> bool:
    """True when a company name ends in Therapeutics/Biosciences/Pharmaceuticals, optionally
    followed by a legal suffix ("Northfield Therapeutics Holdings Inc.")."""
    return bool(_BIOTECH_NAME.search(name.strip()))


def synthetic_biotech_sponsors(universe: pd.DataFrame) -> pd.DataFrame:
    """Made-up biotech sponsors of a sample ``universe`` (``ticker, name, sector``).

    Health Care rows that are not real companies of ``sample_companies.csv`` and whose name
    passes :func:`is_biotech_name`; ``sponsor_name`` is the company name and
    ``fda_sponsor_name`` its upper-case form. In universe order.
    """
    real = set(_read_data_csv("sample_companies.csv")["ticker"])
    names = universe["name"].astype(str)
    chosen = universe[
        (universe["sector"] == "Health Care")
        & ~universe["ticker"].isin(real)
        & names.map(is_biotech_name)
    ]
    return pd.DataFrame(
        {
            "ticker": chosen["ticker"].astype(str).to_numpy(),
            "sponsor_name": chosen["name"].astype(str).to_numpy(),
            "fda_sponsor_name": chosen["name"].astype(str).str.upper().to_numpy(),
        }
    )


def biotech_sponsors(universe: pd.DataFrame | None = None) -> pd.DataFrame:
    """The full mapping: real companies, then (with a ``universe``) its synthetic biotechs.

    With a ``universe`` only real tickers inside it are kept (a small sample universe may
    not reach the pharma names). Columns :data:`SPONSOR_COLUMNS`; one row per ticker.
    """
    real = real_biotech_sponsors()
    if universe is None:
        return real
    real = real[real["ticker"].isin(set(universe["ticker"]))]
    frame = pd.concat([real, synthetic_biotech_sponsors(universe)], ignore_index=True)
    return frame.drop_duplicates("ticker", ignore_index=True)


def trial_sponsors(mapping: pd.DataFrame) -> dict[str, str]:
    """``ticker -> ClinicalTrials.gov lead-sponsor name`` of a mapping frame."""
    return dict(zip(mapping["ticker"], mapping["sponsor_name"], strict=True))


def fda_sponsors(mapping: pd.DataFrame) -> dict[str, str]:
    """``ticker -> openFDA sponsor_name phrase`` of a mapping frame."""
    return dict(zip(mapping["ticker"], mapping["fda_sponsor_name"], strict=True))


__all__ = [
    "BIOTECH_NOUNS",
    "SPONSOR_COLUMNS",
    "biotech_sponsors",
    "fda_sponsors",
    "is_biotech_name",
    "real_biotech_sponsors",
    "synthetic_biotech_sponsors",
    "trial_sponsors",
]
