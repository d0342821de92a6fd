"""Sample-mode ClinicalTrials.gov: ``/api/v2/studies`` in its real JSON shape, offline.

Importing this module registers :func:`handle_request` for ``clinicaltrials.gov``. It reads
``query.spons`` (lead sponsor or collaborator, case-insensitive), ``filter.advanced`` (Essie
terms joined with ``AND``: ``AREA[Phase]PHASE3``, ``AREA[Phase](PHASE2 OR PHASE3)``,
``AREA[LastUpdatePostDate]RANGE[a,b]`` and ``AREA[PrimaryCompletionDate]RANGE[a,b]`` with
``YYYY-MM-DD``/``MIN``/``MAX`` bounds), ``filter.overallStatus``, ``pageSize`` (1..1000,
default 10), ``pageToken`` and ``countTotal`` and answers
``{"studies": [...], "nextPageToken": "..."?, "totalCount": N?}``. Anything it cannot read
is HTTP 400 with a plain-text message.

Every sponsor of :func:`pas_pipeline.sources.biotech_sponsors.biotech_sponsors` over the
sample universe (size, seed and "today" from
:func:`pas_pipeline.sources.sample.yahoo.sample_config`) runs a deterministic set of
studies: 14-24 for a real pharma company (about one in eight led by a university with the
company as collaborator), 2-6 for a synthetic biotech. Each study is a timeline of
*versions* posted every 45-200 days: not yet recruiting before its start, recruiting, then
active (not recruiting) until its primary completion, whose estimate slips by 30-120 days
at about a third of the updates; then ``ACTUAL`` and finally completed (a few terminate
early). About half of the studies give estimated dates as ``YYYY-MM``. Each sponsor's first
study is *pivotal*: a Phase 3 first estimated to complete within 120 days after "today", so
the catalyst strategy has something to find on recent dates.

History. The real API only serves each study's current version; the sample serves, per
study, the latest version posted inside the requested ``LastUpdatePostDate`` range (the
latest posted at all without one) -- the record a daily live collector would have kept.
Nothing posted after "today" is ever served.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import zlib
from functools import lru_cache
from typing import Any

import httpx
import numpy as np

from pas_pipeline.sources.biotech_sponsors import biotech_sponsors, real_biotech_sponsors
from pas_pipeline.sources.http import register_sample_handler
from pas_pipeline.sources.sample.yahoo import reconfigure, sample_config, sample_today
from pas_pipeline.sources.universe import sample_universe

CLINICAL_TRIALS_HOST = "clinicaltrials.gov"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
HISTORY_YEARS = 7
PIVOTAL_DUE_DAYS = 120
UNIVERSITIES = ("Meridian University Hospital", "Northfield Medical Center", "Lakeview Institute")
CONDITIONS = (
    "Plaque Psoriasis", "Type 2 Diabetes", "Obesity", "Non-Small Cell Lung Cancer",
    "Breast Cancer", "Multiple Myeloma", "Heart Failure", "Alzheimer Disease",
    "Ulcerative Colitis", "Atopic Dermatitis", "Cystic Fibrosis", "HIV-1 Infection",
    "Migraine", "Rheumatoid Arthritis", "Sickle Cell Disease", "Chronic Kidney Disease",
)  # fmt: skip
PHASE_CHOICES = (["PHASE3"], ["PHASE2"], ["PHASE2", "PHASE3"], ["PHASE1"])
PHASE_WEIGHTS = (0.45, 0.3, 0.1, 0.15)

_PATH = "/api/v2/studies"
_OPEN = ("NOT_YET_RECRUITING", "RECRUITING", "ENROLLING_BY_INVITATION")
_TERM = re.compile(r"^AREA\[(\w+)\](.+)$")
_RANGE = re.compile(r"^RANGE\[([^,\]]+),([^,\]]+)\]$")


def _ymd(day: dt.date) -> str:
    return f"{day:%Y-%m-%d}"


def _study_versions(
    nct_id: str,
    sponsor: str,
    lead: dict[str, str],
    rng: np.random.Generator,
    today: dt.date,
    pivotal: bool = False,
) -> list[dict[str, Any]]:
    """Every version of one study, oldest first (see the module for the timeline).

    A ``pivotal`` study is a Phase 3 whose first estimated primary completion falls
    within :data:`PIVOTAL_DUE_DAYS` after ``today`` (later updates may still slip it)."""
    duration = int(rng.integers(300, 1300))
    if pivotal:
        initial = today + dt.timedelta(days=int(rng.integers(1, PIVOTAL_DUE_DAYS)))
        start = initial - dt.timedelta(days=duration)
    else:
        start = today - dt.timedelta(days=int(rng.integers(180, 365 * (HISTORY_YEARS - 1))))
        initial = start + dt.timedelta(days=duration)
    wrap_up = int(rng.integers(30, 240))
    month_only = bool(rng.random() < 0.5)
    terminate_at = int(rng.integers(2, 12)) if rng.random() < 0.06 and not pivotal else None
    phases = PHASE_CHOICES[int(rng.choice(len(PHASE_CHOICES), p=PHASE_WEIGHTS))]
    phases = ["PHASE3"] if pivotal else phases
    conditions = [
        str(c) for c in rng.choice(CONDITIONS, size=int(rng.integers(1, 3)), replace=False)
    ]
    by_invitation = bool(rng.random() < 0.1)
    target = int(rng.integers(40, 3000))
    posted = start - dt.timedelta(days=int(rng.integers(14, 60)))
    primary = initial
    versions: list[dict[str, Any]] = []
    while posted <= today + dt.timedelta(days=400):
        if versions and posted < primary and rng.random() < 0.33:
            primary = primary + dt.timedelta(days=int(rng.integers(30, 120)))
        done = posted >= primary
        final = primary + dt.timedelta(days=wrap_up)
        if terminate_at is not None and len(versions) == terminate_at and posted > start:
            status = "TERMINATED"
        elif posted < start:
            status = "NOT_YET_RECRUITING"
        elif posted < start + (primary - start) * 0.6:
            status = "ENROLLING_BY_INVITATION" if by_invitation else "RECRUITING"
        elif not done or posted < final:
            status = "ACTIVE_NOT_RECRUITING"
        else:
            status = "COMPLETED"
        estimated = not done and status != "TERMINATED"
        primary_text = f"{primary:%Y-%m}" if estimated and month_only else _ymd(primary)
        versions.append(
            {
                "posted": posted,
                "primary": primary,
                "status": status,
                "study": {
                    "protocolSection": {
                        "identificationModule": {
                            "nctId": nct_id,
                            "briefTitle": f"A Study of {sponsor[:3].upper()}-{nct_id[-3:]} "
                            f"in Adults With {conditions[0]}",
                        },
                        "statusModule": {
                            "overallStatus": status,
                            "startDateStruct": {
                                "date": _ymd(start),
                                "type": "ACTUAL" if posted >= start else "ESTIMATED",
                            },
                            "primaryCompletionDateStruct": {
                                "date": primary_text,
                                "type": "ESTIMATED" if estimated else "ACTUAL",
                            },
                            "completionDateStruct": {
                                "date": f"{final:%Y-%m}",
                                "type": "ACTUAL" if status == "COMPLETED" else "ESTIMATED",
                            },
                            "lastUpdatePostDateStruct": {"date": _ymd(posted), "type": "ACTUAL"},
                        },
                        "sponsorCollaboratorsModule": {
                            "leadSponsor": lead,
                            **(
                                {"collaborators": [{"name": sponsor, "class": "INDUSTRY"}]}
                                if lead["name"] != sponsor
                                else {}
                            ),
                        },
                        "designModule": {
                            "studyType": "INTERVENTIONAL",
                            "phases": phases,
                            "enrollmentInfo": {
                                "count": target,
                                "type": "ESTIMATED" if status in _OPEN else "ACTUAL",
                            },
                        },
                        "conditionsModule": {"conditions": conditions},
                    },
                    "hasResults": False,
                },
            }
        )
        if status in ("COMPLETED", "TERMINATED"):
            break
        posted = posted + dt.timedelta(days=int(rng.integers(45, 200)))
    return versions


@lru_cache(maxsize=4)
def _catalogue(size: int, seed: int, today: dt.date) -> tuple[dict[str, Any], ...]:
    """Every sample study: ``{"nct_id", "sponsor", "lead", "versions"}``, by NCT id."""
    mapping = biotech_sponsors(sample_universe(size, seed))
    real = set(real_biotech_sponsors()["ticker"])
    studies = []
    for index, (ticker, sponsor) in enumerate(
        zip(mapping["ticker"], mapping["sponsor_name"], strict=True)
    ):
        rng = np.random.default_rng([seed, 0xC7, zlib.crc32(sponsor.encode())])
        count = int(rng.integers(14, 25)) if ticker in real else int(rng.integers(2, 7))
        for k in range(count):
            nct_id = f"NCT06{index:03d}{k:03d}"
            lead = {"name": sponsor, "class": "INDUSTRY"}
            if ticker in real and rng.random() < 0.125:
                lead = {"name": str(rng.choice(UNIVERSITIES)), "class": "OTHER"}
            pivotal = k == 0 and lead["name"] == sponsor
            versions = _study_versions(nct_id, sponsor, lead, rng, today, pivotal)
            studies.append(
                {"nct_id": nct_id, "sponsor": sponsor, "lead": lead, "versions": versions}
            )
    return tuple(studies)


def _bad_request(message: str) -> httpx.Response:
    return httpx.Response(400, text=message, headers={"content-type": "text/plain"})


def _bound(text: str, low: bool) -> dt.date | None:
    text = text.strip()
    if text == ("MIN" if low else "MAX"):
        return dt.date.min if low else dt.date.max
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _parse_advanced(expression: str) -> dict[str, Any] | str:
    """``{"phases": set | None, "posted": (a, b) | None, "primary": (a, b) | None}`` or an
    error message."""
    found: dict[str, Any] = {"phases": None, "posted": None, "primary": None}
    for term in (t.strip() for t in expression.split(" AND ")):
        match = _TERM.match(term)
        if match is None:
            return f"unsupported filter.advanced term {term!r}"
        area, value = match.groups()
        if area == "Phase":
            names = value.strip().strip("()").split(" OR ")
            found["phases"] = {name.strip() for name in names}
            continue
        key = {"LastUpdatePostDate": "posted", "PrimaryCompletionDate": "primary"}.get(area)
        window = _RANGE.match(value.strip())
        if key is None or window is None:
            return f"unsupported filter.advanced term {term!r}"
        low, high = _bound(window.group(1), True), _bound(window.group(2), False)
        if low is None or high is None:
            return f"bad RANGE bounds in {term!r}"
        found[key] = (low, high)
    return found


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset:08d}".encode()).decode().rstrip("=")


def _offset(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text[1:]) if re.fullmatch(r"o\d{8}", text) else None


def _matches(study: dict[str, Any], sponsor: str | None) -> bool:
    if sponsor is None:
        return True
    names = {study["sponsor"].casefold(), study["lead"]["name"].casefold()}
    return sponsor.strip().casefold() in names


def handle_request(request: httpx.Request) -> httpx.Response:
    """Answer one ``/api/v2/studies`` search from the sample data (see the module)."""
    if request.method != "GET" or request.url.path != _PATH:
        return httpx.Response(404, text="Not Found", headers={"content-type": "text/plain"})
    params = request.url.params
    size_text = params.get("pageSize", str(DEFAULT_PAGE_SIZE))
    if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
        return _bad_request(f"pageSize must be 1..{MAX_PAGE_SIZE}")
    page_size = int(size_text)
    offset = 0
    if "pageToken" in params:
        found = _offset(params["pageToken"])
        if found is None:
            return _bad_request("invalid pageToken")
        offset = found
    advanced = _parse_advanced(params["filter.advanced"]) if "filter.advanced" in params else {}
    if isinstance(advanced, str):
        return _bad_request(advanced)
    status_list = params.get("filter.overallStatus")
    statuses = set(status_list.split(",")) if status_list else None
    config = sample_config()
    today = sample_today()
    posted_low, posted_high = advanced.get("posted") or (dt.date.min, dt.date.max)
    posted_high = min(posted_high, today)
    chosen = []
    for study in _catalogue(config.size, config.seed, today):
        if not _matches(study, params.get("query.spons")):
            continue
        inside = [v for v in study["versions"] if posted_low <= v["posted"] <= posted_high]
        if not inside:
            continue
        version = inside[-1]
        phases = set(version["study"]["protocolSection"]["designModule"]["phases"])
        if advanced.get("phases") is not None and not phases & advanced["phases"]:
            continue
        primary = advanced.get("primary")
        if primary is not None and not primary[0] <= version["primary"] <= primary[1]:
            continue
        if statuses is not None and version["status"] not in statuses:
            continue
        chosen.append(version["study"])
    page: dict[str, Any] = {"studies": chosen[offset : offset + page_size]}
    if offset + page_size < len(chosen):
        page["nextPageToken"] = _token(offset + page_size)
    if params.get("countTotal", "false").lower() == "true":
        page["totalCount"] = len(chosen)
    body = json.dumps(page, separators=(",", ":")).encode()
    return httpx.Response(200, content=body, headers={"content-type": "application/json"})


register_sample_handler(CLINICAL_TRIALS_HOST, handle_request)

__all__ = ["CLINICAL_TRIALS_HOST", "handle_request", "reconfigure"]
