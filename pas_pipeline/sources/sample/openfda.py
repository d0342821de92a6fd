"""Sample-mode openFDA Drugs@FDA: ``/drug/drugsfda.json`` in its real JSON shape, offline.

Importing this module registers :func:`handle_request` for ``api.fda.gov``. ``search`` takes
terms joined with ``AND`` (``+AND+`` in the URL): ``sponsor_name:"PHRASE"`` (the phrase's
words appear consecutively in the record's ``sponsor_name``, case-insensitive) and
``submissions.submission_status_date:[YYYYMMDD TO YYYYMMDD]`` (some submission dated in the
range). ``limit`` (1..1000, default 1) and ``skip`` (0..25000) page through the matches,
ordered by application number; ``api_key`` is accepted and ignored. The answer is
``{"meta": {"disclaimer", "terms", "license", "last_updated", "results": {"skip", "limit",
"total"}}, "results": [...]}``; no match is HTTP 404 ``{"error": {"code": "NOT_FOUND",
"message": "No matches found!"}}`` and a search it cannot read HTTP 400 with
``"code": "BAD_REQUEST"``, as the real service answers.

Every sponsor of :func:`pas_pipeline.sources.biotech_sponsors.biotech_sponsors` over the
sample universe (size, seed and "today" from
:func:`pas_pipeline.sources.sample.yahoo.sample_config`) holds deterministic applications:
6-14 for a real pharma company, 0-2 for a synthetic biotech, each an original approval
(``ORIG``, ``AP``) dated in the last 15 years followed by 0-5 approved supplements. The
record's ``sponsor_name`` is the mapping's openFDA phrase plus " INC" (or the synthetic
company's upper-case name). Nothing is dated after "today".
"""

from __future__ import annotations

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

OPENFDA_HOST = "api.fda.gov"
HISTORY_DAYS = 15 * 365
MAX_LIMIT = 1000
MAX_SKIP = 25_000
_PATH = "/drug/drugsfda.json"
_SPONSOR_TERM = re.compile(r'^sponsor_name:"([^"]+)"$')
_DATE_TERM = re.compile(r"^submissions\.submission_status_date:\[(\d{8}) TO (\d{8})\]$")
_SYLLABLES = ("ZA", "VEX", "LOR", "MI", "TRA", "NEO", "CAL", "DRI", "SOL", "QUA", "RIN", "TAV")
_FORMS = (("TABLET", "ORAL"), ("INJECTABLE", "SUBCUTANEOUS"), ("CAPSULE", "ORAL"))
_META = {
    "disclaimer": "Do not rely on openFDA to make decisions regarding medical care.",
    "terms": "https://open.fda.gov/terms/",
    "license": "https://open.fda.gov/license/",
}


def _application(
    number: str, sponsor: str, rng: np.random.Generator, today: dt.date
) -> dict[str, Any]:
    """One application record whose submissions are all dated on or before ``today``."""
    brand = "".join(str(s) for s in rng.choice(_SYLLABLES, size=3, replace=False))
    form, route = _FORMS[int(rng.integers(len(_FORMS)))]
    day = today - dt.timedelta(days=int(rng.integers(0, HISTORY_DAYS)))
    submissions = [
        {
            "submission_type": "ORIG",
            "submission_number": "1",
            "submission_status": "AP",
            "submission_status_date": f"{day:%Y%m%d}",
            "review_priority": "PRIORITY" if rng.random() < 0.4 else "STANDARD",
            "submission_class_code": "TYPE 1",
            "submission_class_code_description": "Type 1 - New Molecular Entity",
        }
    ]
    for n in range(int(rng.integers(0, 6))):
        day = day + dt.timedelta(days=int(rng.integers(60, 900)))
        if day > today:
            break
        submissions.append(
            {
                "submission_type": "SUPPL",
                "submission_number": str(n + 2),
                "submission_status": "AP",
                "submission_status_date": f"{day:%Y%m%d}",
                "review_priority": "STANDARD",
                "submission_class_code": "EFFICACY",
                "submission_class_code_description": "Efficacy",
            }
        )
    return {
        "application_number": number,
        "sponsor_name": sponsor,
        "openfda": {"brand_name": [brand], "generic_name": [brand.lower() + "mab"]},
        "products": [
            {
                "product_number": "001",
                "brand_name": brand,
                "dosage_form": form,
                "route": route,
                "marketing_status": "Prescription",
                "active_ingredients": [{"name": brand.lower() + "mab", "strength": "100MG"}],
            }
        ],
        "submissions": submissions,
    }


@lru_cache(maxsize=4)
def _catalogue(size: int, seed: int, today: dt.date) -> tuple[dict[str, Any], ...]:
    """Every sample application, ordered by application number."""
    mapping = biotech_sponsors(sample_universe(size, seed))
    real = set(real_biotech_sponsors()["ticker"])
    records = []
    for index, (ticker, phrase) in enumerate(
        zip(mapping["ticker"], mapping["fda_sponsor_name"], strict=True)
    ):
        rng = np.random.default_rng([seed, 0xFD, zlib.crc32(phrase.encode())])
        sponsor = f"{phrase} INC" if ticker in real else phrase
        count = int(rng.integers(6, 15)) if ticker in real else int(rng.integers(0, 3))
        for k in range(count):
            kind = "BLA" if rng.random() < 0.3 else "NDA"
            number = f"{kind}{7 if kind == 'BLA' else 2}{index:03d}{k:02d}"
            records.append(_application(number, sponsor, rng, today))
    return tuple(sorted(records, key=lambda record: record["application_number"]))


def _error(status: int, code: str, message: str) -> httpx.Response:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return httpx.Response(status, content=body, headers={"content-type": "application/json"})


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"[A-Z0-9]+", text.upper())) + " "


def _parse_search(search: str) -> list[Any] | str:
    """Predicates on a record, or an error message."""
    predicates: list[Any] = []
    for term in (t.strip() for t in search.split(" AND ")):
        sponsor = _SPONSOR_TERM.match(term)
        dates = _DATE_TERM.match(term)
        if sponsor is not None:
            phrase = _words(sponsor.group(1))
            predicates.append(lambda record, p=phrase: p in _words(record["sponsor_name"]))
        elif dates is not None:
            low, high = dates.groups()
            predicates.append(
                lambda record, a=low, b=high: any(
                    a <= s["submission_status_date"] <= b for s in record["submissions"]
                )
            )
        else:
            return f"Invalid search term: {term}"
    return predicates


def handle_request(request: httpx.Request) -> httpx.Response:
    """Answer one ``/drug/drugsfda.json`` search from the sample data (see the module)."""
    if request.method != "GET" or request.url.path != _PATH:
        return _error(404, "NOT_FOUND", "No matches found!")
    params = request.url.params
    limit_text, skip_text = params.get("limit", "1"), params.get("skip", "0")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        return _error(400, "BAD_REQUEST", f"Limit cannot exceed {MAX_LIMIT} results")
    if not skip_text.isdigit() or int(skip_text) > MAX_SKIP:
        return _error(400, "BAD_REQUEST", f"Skip value must {MAX_SKIP} or less.")
    predicates = _parse_search(params.get("search", ""))
    if isinstance(predicates, str):
        return _error(400, "BAD_REQUEST", predicates)
    config = sample_config()
    today = sample_today()
    matches = [
        record
        for record in _catalogue(config.size, config.seed, today)
        if all(predicate(record) for predicate in predicates)
    ]
    limit, skip = int(limit_text), int(skip_text)
    if not matches or skip >= len(matches):
        return _error(404, "NOT_FOUND", "No matches found!")
    meta = {
        **_META,
        "last_updated": f"{today:%Y-%m-%d}",
        "results": {"skip": skip, "limit": limit, "total": len(matches)},
    }
    body = json.dumps({"meta": meta, "results": matches[skip : skip + limit]}).encode()
    return httpx.Response(200, content=body, headers={"content-type": "application/json"})


register_sample_handler(OPENFDA_HOST, handle_request)

__all__ = ["OPENFDA_HOST", "handle_request", "reconfigure"]
