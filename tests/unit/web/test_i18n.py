"""Both label dictionaries have the same keys, and every key the pages use exists."""

from __future__ import annotations

import json
import re

import pytest

from gateway.web.context import LANGUAGES, STATIC
from gateway.web.history import CSV_COLUMNS


def _keys(language: str) -> set[str]:
    return set(json.loads((STATIC / "i18n" / f"{language}.json").read_text(encoding="utf-8")))


def test_dictionaries_have_the_same_keys() -> None:
    zh, en = _keys("zh-CN"), _keys("en")
    assert sorted(zh - en) == [], "keys missing from en.json"
    assert sorted(en - zh) == [], "keys missing from zh-CN.json"


def _used_keys() -> set[str]:
    used: set[str] = set()
    for path in STATIC.glob("*.js"):
        used |= set(
            re.findall(
                r"""\bt\("([a-z_]+\.[A-Za-z_.0-9]+)"[,)]""", path.read_text(encoding="utf-8")
            )
        )
    for path in STATIC.glob("*.html"):
        used |= set(re.findall(r'data-i18n="([^"]+)"', path.read_text(encoding="utf-8")))
        used |= set(re.findall(r'data-i18n="([^"]+)"', path.read_text(encoding="utf-8")))
    used |= set(
        re.findall(r'"data-i18n": "([^"]+)"', (STATIC / "common.js").read_text(encoding="utf-8"))
    )
    # keys built from data: every kind, level, state, risk and ISA state the server sends
    used |= {f"kind.{k}" for k in ("HH", "H", "L", "LL", "ROC", "FAULT", "COMM")}
    used |= {
        f"isa.{s}" for s in ("unack", "acked", "rtn_unack", "shelved", "out_of_service", "normal")
    }
    used |= {f"risk.{r}" for r in ("red", "orange", "yellow", "blue")}
    used |= {f"state.{s}" for s in ("online", "offline", "unknown")}
    used |= {f"role.{r}" for r in ("viewer", "operator", "admin")}
    used |= {f"col.{c}" for c in CSV_COLUMNS}
    used |= {
        f"action.{a}"
        for a in (
            "ack",
            "reset",
            "shelve",
            "unshelve",
            "out_of_service",
            "return_to_service",
            "disposition",
        )
    }
    return used


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_used_key_is_in_the_dictionary(language: str) -> None:
    used = _used_keys()
    assert len(used) > 80
    assert sorted(used - _keys(language)) == []


def test_pages_hold_no_third_party_or_remote_code() -> None:
    for path in [*STATIC.glob("*.html"), *STATIC.glob("*.js")]:
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, path.name
        for src in re.findall(r'(?:src|href)="([^"]+)"', text):
            assert src.startswith("/static/"), (path.name, src)
