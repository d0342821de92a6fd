"""ClinicalTrials.gov API v2: Phase 2/3 studies of each biotech sponsor (trial read-out timing).

``GET https://clinicaltrials.gov/api/v2/studies`` with ``query.spons`` (sponsor or
collaborator, full text), ``filter.advanced`` (an Essie expression), optional
``filter.overallStatus`` (comma list), ``pageSize`` (at most 1000) and the opaque
``pageToken`` copied from the previous page's ``nextPageToken`` (absent on the last page).
No key. ``robots.txt`` asks for ``Crawl-delay: 1``, so :data:`CLINICAL_TRIALS_POLICY` sends
at most one request a second.

Point in time. The API serves each study's *current* record only. Its
``lastUpdatePostDate`` is the day that version became public, so
:func:`fetch_trial_catalysts` asks for the versions posted on ``start - 1 .. end - 1``
(``AREA[LastUpdatePostDate]RANGE[a,b]``, inclusive; the same Essie area/RANGE syntax is
used with ``query.term`` by public clients, e.g. ``RANGE[2023-01-15,MAX]``) and stamps
``known_date = lastUpdatePostDate + 1 day``. Run daily, this records every version as it was
posted; a back-fill over old days only finds studies not updated since (never a later
version, so no look-ahead, but older versions are lost).

Only studies whose *lead* sponsor is the mapped sponsor are kept (``query.spons`` also
matches collaborators; names compared case-insensitively, ignoring punctuation).

The tidy frame ``trial_catalysts`` (:data:`TRIAL_CATALYST_COLUMNS`, one row per study
version):

================== ================ ===========================================================
column             dtype            meaning
================== ================ ===========================================================
nct_id             object (str)     ``NCT`` + 8 digits
ticker             object (str)     the ticker whose sponsor leads the study
sponsor            object (str)     ``leadSponsor.name``
phase              object (str)     the highest of ``designModule.phases`` (a Phase 2/3 study
                                    is ``"PHASE3"``); ``"NA"`` when none is given
status             object (str)     ``overallStatus`` (``RECRUITING``, ``COMPLETED``, ...)
primary_completion datetime64[ns]   ``primaryCompletionDateStruct.date``; a ``YYYY-MM`` partial
                                    date is the *last* day of that month (the latest day it
                                    can mean); NaT when absent
completion_type    object (str)     ``ACTUAL`` or ``ESTIMATED`` (None when absent)
event_date         datetime64[ns]   ``lastUpdatePostDate``: when this version became public
known_date         datetime64[ns]   ``event_date + 1 day``
conditions         object (str)     ``conditionsModule.conditions`` joined with ``"; "``
enrollment         float64          ``enrollmentInfo.count`` (NaN when absent)
================== ================ ===========================================================
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pandera.pandas as pa

from pas_pipeline.config import DataMode
from pas_pipeline.schemas import DAY_COLUMN
from pas_pipeline.sources.errors import PayloadError
from pas_pipeline.sources.http import ApiClient, ApiPolicy, sample_transport, unlimited

log = logging.getLogger(__name__)

SOURCE = "clinicaltrials"
MAX_PAGE_SIZE = 1000
MAX_PAGES = 1000
"""Safety stop: a token loop longer than this is a :class:`PayloadError`."""
PUBLICATION_LAG = pd.Timedelta(days=1)
PHASE_ORDER = ("NA", "EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4")
"""Phases from lowest to highest; ``phase`` is the highest a study lists."""
CATALYST_PHASES = ("PHASE2", "PHASE3")
COMPLETION_TYPES = ("ACTUAL", "ESTIMATED")
TRIAL_CATALYST_COLUMNS = (
    "nct_id",
    "ticker",
    "sponsor",
    "phase",
    "status",
    "primary_completion",
    "completion_type",
    "event_date",
    "known_date",
    "conditions",
    "enrollment",
)

CLINICAL_TRIALS_POLICY = ApiPolicy(
    name=SOURCE,
    base_url="https://clinicaltrials.gov/api/v2",
    requests_per_second=1.0,
    burst=1,
    max_retries=5,
    backoff_base_seconds=2.0,
    backoff_cap_seconds=60.0,
    timeout_seconds=60.0,
)
"""At most one request a second (``robots.txt`` ``Crawl-delay: 1``; no limit is published);
429/5xx retried with backoff. A search never answers 404, so 404 stays an error."""

_DAY = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_NCT = re.compile(r"^NCT\d{8}$")
_NON_WORD = re.compile(r"[^0-9a-z]+")

TRIAL_CATALYSTS_SCHEMA = pa.DataFrameSchema(
    {
        "nct_id": pa.Column(str, pa.Check.str_matches(_NCT.pattern), nullable=False),
        "ticker": pa.Column(str, pa.Check.str_matches(r"^[A-Z][A-Z0-9.\-]{0,7}$")),
        "sponsor": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        "phase": pa.Column(str, pa.Check.isin(list(PHASE_ORDER)), nullable=False),
        "status": pa.Column(str, pa.Check.str_matches(r"^[A-Z_]+$"), nullable=False),
        "primary_completion": pa.Column("datetime64[ns]", nullable=True),
        "completion_type": pa.Column(str, pa.Check.isin(list(COMPLETION_TYPES)), nullable=True),
        "event_date": DAY_COLUMN,
        "known_date": DAY_COLUMN,
        "conditions": pa.Column(str, nullable=False),
        "enrollment": pa.Column("float64", pa.Check.ge(0), nullable=True),
    },
    checks=[
        pa.Check(lambda frame: frame["known_date"] > frame["event_date"], name="known_after_event")
    ],
    unique=["ticker", "nct_id", "event_date"],
    strict=True,
    name="trial_catalysts",
)
"""Study versions: a valid NCT id, a known phase, midnight dates published after the version
day (``known_date > event_date``), non-negative enrollment, one row per (ticker, study,
version day). Validate with :func:`pas_pipeline.schemas.validate_frame`."""


# --- request -----------------------------------------------------------------------------


def posted_filter(
    first_posted: dt.date, last_posted: dt.date, phases: Iterable[str] = CATALYST_PHASES
) -> str:
    """The ``filter.advanced`` Essie expression of studies in ``phases`` whose current
    version was posted on ``first_posted..last_posted`` (inclusive)::

        AREA[Phase](PHASE2 OR PHASE3) AND AREA[LastUpdatePostDate]RANGE[2024-06-30,2024-07-30]
    """
    if last_posted < first_posted:
        raise ValueError(f"last_posted {last_posted} is before first_posted {first_posted}")
    phase_list = " OR ".join(phases)
    return (
        f"AREA[Phase]({phase_list}) AND "
        f"AREA[LastUpdatePostDate]RANGE[{first_posted:%Y-%m-%d},{last_posted:%Y-%m-%d}]"
    )


class ClinicalTrialsClient:
    """Raw study records through a shared :class:`ApiClient`, following ``nextPageToken``."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def __enter__(self) -> ClinicalTrialsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()

    def studies(
        self,
        sponsor: str,
        advanced: str | None = None,
        statuses: Iterable[str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[dict[str, Any]]:
        """Every study of ``query.spons=sponsor`` (all pages), optionally narrowed by a
        ``filter.advanced`` expression and ``filter.overallStatus`` values.

        Raises :class:`PayloadError` (field ``studies`` / ``nextPageToken``) when a page is
        not ``{"studies": [...]}`` or the token is not text or repeats.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be in 1..{MAX_PAGE_SIZE}, got {page_size}")
        params: dict[str, Any] = {"query.spons": sponsor, "pageSize": page_size}
        if advanced:
            params["filter.advanced"] = advanced
        if statuses:
            params["filter.overallStatus"] = ",".join(statuses)
        studies: list[dict[str, Any]] = []
        seen_tokens: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self.api.get_json("/studies", params)
            if not isinstance(page, dict) or not isinstance(page.get("studies"), list):
                got = type(page).__name__ if not isinstance(page, dict) else "no studies list"
                raise PayloadError(SOURCE, f'expected {{"studies": [...]}}, got {got}', "studies")
            studies.extend(page["studies"])
            token = page.get("nextPageToken")
            if token is None:
                return studies
            if not isinstance(token, str) or not token or token in seen_tokens:
                raise PayloadError(SOURCE, f"bad or repeated token {token!r:.40}", "nextPageToken")
            seen_tokens.add(token)
            params = {**params, "pageToken": token}
        raise PayloadError(SOURCE, f"more than {MAX_PAGES} pages", "nextPageToken")


# --- parser ------------------------------------------------------------------------------


def _bad(message: str, field: str, row: int) -> PayloadError:
    return PayloadError(SOURCE, message, field=field, row=row)


def _path(record: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


def parse_ct_date(value: Any, field: str, row: int) -> pd.Timestamp:
    """A ``YYYY-MM-DD`` day, or a ``YYYY-MM`` month read as its *last* day (the latest day
    the partial date can mean, so "2025-07" is 2025-07-31)."""
    match = _DAY.match(value) if isinstance(value, str) else None
    if match is None:
        raise _bad(f"expected 'YYYY-MM' or 'YYYY-MM-DD', got {value!r:.40}", field, row)
    year, month, day = match.groups()
    try:
        if day is not None:
            return pd.Timestamp(dt.date(int(year), int(month), int(day)))
        return pd.Timestamp(dt.date(int(year), int(month), 1)) + pd.offsets.MonthEnd(0)
    except ValueError:
        raise _bad(f"not a calendar date: {value!r}", field, row) from None


_NCT_ID = ("protocolSection", "identificationModule", "nctId")
_POSTED = ("protocolSection", "statusModule", "lastUpdatePostDateStruct", "date")
_STATUS = ("protocolSection", "statusModule", "overallStatus")
_LEAD_SPONSOR = ("protocolSection", "sponsorCollaboratorsModule", "leadSponsor", "name")
_FIELD_NAMES = {
    _NCT_ID: "nctId",
    _POSTED: "lastUpdatePostDateStruct.date",
    _STATUS: "overallStatus",
    _LEAD_SPONSOR: "leadSponsor.name",
}


def _text(study: dict[str, Any], keys: tuple[str, ...], row: int) -> str:
    value = _path(study, keys)
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"expected text, got {value!r:.40}", _FIELD_NAMES[keys], row)
    return value.strip()


def _highest_phase(study: dict[str, Any], row: int) -> str:
    phases = _path(study, ("protocolSection", "designModule", "phases"))
    if phases is None or phases == []:
        return "NA"
    if not isinstance(phases, list) or any(p not in PHASE_ORDER for p in phases):
        raise _bad(f"expected phases from {PHASE_ORDER}, got {phases!r:.60}", "phases", row)
    return max(phases, key=PHASE_ORDER.index)


def _primary_completion(study: dict[str, Any], row: int) -> tuple[pd.Timestamp, str | None]:
    struct = _path(study, ("protocolSection", "statusModule", "primaryCompletionDateStruct"))
    if struct is None:
        return pd.NaT, None
    if not isinstance(struct, dict):
        raise _bad("expected an object", "primaryCompletionDateStruct", row)
    day = parse_ct_date(struct.get("date"), "primaryCompletionDateStruct.date", row)
    kind = struct.get("type")
    if kind is not None and kind not in COMPLETION_TYPES:
        raise _bad(
            f"expected ACTUAL or ESTIMATED, got {kind!r:.40}",
            "primaryCompletionDateStruct.type",
            row,
        )
    return day, kind


def _conditions(study: dict[str, Any], row: int) -> str:
    values = _path(study, ("protocolSection", "conditionsModule", "conditions"))
    if values is None:
        return ""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _bad(f"expected a list of text, got {values!r:.60}", "conditions", row)
    return "; ".join(v.strip() for v in values)


def _enrollment(study: dict[str, Any], row: int) -> float:
    value = _path(study, ("protocolSection", "designModule", "enrollmentInfo", "count"))
    if value is None:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _bad(
            f"expected a non-negative number, got {value!r:.40}", "enrollmentInfo.count", row
        )
    return float(value)


def _empty_frame() -> pd.DataFrame:
    text = {name: pd.Series(dtype=object) for name in TRIAL_CATALYST_COLUMNS}
    days = ("primary_completion", "event_date", "known_date")
    frame = pd.DataFrame({**text, **{d: pd.Series(dtype="datetime64[ns]") for d in days}})
    frame["enrollment"] = pd.Series(dtype="float64")
    return frame[list(TRIAL_CATALYST_COLUMNS)]


def parse_studies(studies: Any, ticker: str) -> pd.DataFrame:
    """The tidy frame (:data:`TRIAL_CATALYST_COLUMNS`) of ``studies`` for ``ticker``.

    Raises :class:`PayloadError` naming the field and the 0-based study index for a study
    that is not an object, a missing/malformed ``nctId``, lead-sponsor name, ``overallStatus``
    or ``lastUpdatePostDateStruct.date`` (a full day), an unknown phase, a malformed primary
    completion date or type, non-text conditions or a negative/non-numeric enrollment.
    Rows keep the payload order.
    """
    if not isinstance(studies, list):
        raise PayloadError(SOURCE, f"expected a list, got {type(studies).__name__}", "studies")
    rows = []
    for row, study in enumerate(studies):
        if not isinstance(study, dict):
            raise _bad(f"expected an object, got {type(study).__name__}", "studies", row)
        nct_id = _text(study, _NCT_ID, row)
        if not _NCT.match(nct_id):
            raise _bad(f"expected 'NCT' + 8 digits, got {nct_id!r:.40}", "nctId", row)
        posted = _text(study, _POSTED, row)
        if len(posted) != 10:
            raise _bad(
                f"expected 'YYYY-MM-DD', got {posted!r:.40}", "lastUpdatePostDateStruct.date", row
            )
        event_date = parse_ct_date(posted, "lastUpdatePostDateStruct.date", row)
        primary, kind = _primary_completion(study, row)
        rows.append(
            {
                "nct_id": nct_id,
                "ticker": ticker,
                "sponsor": _text(study, _LEAD_SPONSOR, row),
                "phase": _highest_phase(study, row),
                "status": _text(study, _STATUS, row),
                "primary_completion": primary,
                "completion_type": kind,
                "event_date": event_date,
                "known_date": event_date + PUBLICATION_LAG,
                "conditions": _conditions(study, row),
                "enrollment": _enrollment(study, row),
            }
        )
    if not rows:
        return _empty_frame()
    frame = pd.DataFrame(rows, columns=list(TRIAL_CATALYST_COLUMNS))
    for column in ("primary_completion", "event_date", "known_date"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    frame["completion_type"] = frame["completion_type"].astype(object)
    frame["enrollment"] = frame["enrollment"].astype("float64")
    return frame


def same_sponsor(left: str, right: str) -> bool:
    """Sponsor names equal ignoring case, punctuation and spacing ("Bristol-Myers Squibb" ==
    "BRISTOL MYERS SQUIBB")."""
    return (
        _NON_WORD.sub(" ", left.casefold()).strip() == _NON_WORD.sub(" ", right.casefold()).strip()
    )


def fetch_trial_catalysts(
    client: ClinicalTrialsClient,
    sponsors: Mapping[str, str],
    start: dt.date,
    end: dt.date,
) -> pd.DataFrame:
    """Phase 2/3 study versions of every ``ticker -> sponsor`` known on ``start..end``.

    One paged search per sponsor for the versions posted on ``start - 1 .. end - 1`` (so
    ``known_date`` falls in ``start..end``). Studies led by someone else (the sponsor only
    collaborates) and versions posted outside the window are dropped; exact duplicates are
    removed. Sorted by (ticker, nct_id, event_date).
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    first, last = start - dt.timedelta(days=1), end - dt.timedelta(days=1)
    advanced = posted_filter(first, last)
    frames = []
    for ticker, sponsor in sponsors.items():
        frame = parse_studies(client.studies(sponsor, advanced), ticker)
        led = frame["sponsor"].map(lambda name, s=sponsor: same_sponsor(name, s)).astype(bool)
        inside = frame["event_date"].between(pd.Timestamp(first), pd.Timestamp(last))
        dropped = int((~led).sum())
        if dropped:
            log.info(
                "%s: %d studies of %r led by another sponsor skipped", SOURCE, dropped, sponsor
            )
        if (led & inside).any():
            frames.append(frame[led & inside])
    if not frames:
        log.info("%s %s..%s: no study versions for %d sponsors", SOURCE, start, end, len(sponsors))
        return _empty_frame()
    frame = pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)
    frame = frame.sort_values(
        ["ticker", "nct_id", "event_date"], kind="mergesort", ignore_index=True
    )
    log.info(
        "%s %s..%s: %d study versions, %d tickers", SOURCE, start, end, len(frame), len(frames)
    )
    return frame


def make_clinical_trials_client(
    mode: DataMode, universe_size: int | None = None
) -> ClinicalTrialsClient:
    """A ClinicalTrials.gov client for ``mode``.

    ``DataMode.SAMPLE``: the real client on :func:`sample_transport` with no rate limit,
    answered by :mod:`pas_pipeline.sources.sample.clinical_trials` (``universe_size``, when
    given, selects the sample universe, as for Yahoo). ``DataMode.LIVE``: the real network
    with :data:`CLINICAL_TRIALS_POLICY`.
    """
    if DataMode(mode) is DataMode.SAMPLE:
        from pas_pipeline.sources.sample import clinical_trials as sample_trials  # registers

        if universe_size is not None:
            sample_trials.reconfigure(size=int(universe_size))
        api = ApiClient(unlimited(CLINICAL_TRIALS_POLICY), transport=sample_transport())
        return ClinicalTrialsClient(api)
    return ClinicalTrialsClient(ApiClient(CLINICAL_TRIALS_POLICY))


__all__ = [
    "CLINICAL_TRIALS_POLICY",
    "PHASE_ORDER",
    "TRIAL_CATALYSTS_SCHEMA",
    "TRIAL_CATALYST_COLUMNS",
    "ClinicalTrialsClient",
    "fetch_trial_catalysts",
    "make_clinical_trials_client",
    "parse_ct_date",
    "parse_studies",
    "posted_filter",
    "same_sponsor",
]
