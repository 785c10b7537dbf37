"""County documents in signed pages (records/county_pages.py) and the kiosk holding them
(kiosk/county_docs.py): every page under the broker's limit and verifiable alone, a page never
passes as a whole document, only changed pages change version, and a forged, older or foreign
page changes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.county_docs import CountyDocuments
from records import county as documents
from records import county_pages, keys
from records.errors import RecordError
from tests.support.county import NOW, TestCounty


def cards(n: int, salt: str = "") -> list[dict[str, str]]:
    return [{"card": f"{i:08x}{salt:0>8}"[:16], "reason": "lost " + "x" * 40} for i in range(n)]


def paged(c: TestCounty, kind: str, body: dict, version: int = 1,
          previous: county_pages.Paged | None = None) -> tuple[documents.Document, county_pages.Paged]:
    doc = documents.sign_document(kind, c.county_id, version, body, c.issuer, NOW)
    return doc, county_pages.paginate(doc, c.issuer, NOW, previous)


def issuer(c: TestCounty):  # noqa: ANN201
    return keys.public_key_from_text(c.issuer_public)


STAFF = [{"staff_id": "s-one", "card": "a" * 16, "role": "staff", "venues": ["v-east"], "pin_hash": "h1"},
         {"staff_id": "s-two", "card": "b" * 16, "role": "teacher", "venues": ["v-east", "v-west"], "pin_hash": "h2"},
         {"staff_id": "s-all", "card": "c" * 16, "role": "staff", "venues": ["*"], "pin_hash": "h3"}]


def test_a_large_revocation_list_is_split_into_pages_under_the_limit_that_merge_back(county: TestCounty) -> None:
    body = {"cards": cards(12_000)}  # about 900 KB signed: over the limit whole
    doc, p = paged(county, "revoked-cards", body)
    assert len(doc.token) > documents.MAX_MESSAGE
    assert p.digits >= 1 and len(p.pages) > 1
    assert all(len(page.token) <= documents.MAX_MESSAGE for page in p.pages.values())
    for key, page in p.pages.items():  # each verifies alone, as the page it says it is
        assert county_pages.verify_page(page.token, issuer(county), "revoked-cards", county.county_id, key).version == 1
    merged = county_pages.merge("revoked-cards", p.index.body["common"], [pg.body for pg in p.pages.values()])
    assert sorted(c["card"] for c in merged["cards"]) == sorted(c["card"] for c in body["cards"])


def test_a_page_never_passes_as_a_whole_document_nor_a_whole_document_as_a_page(tmp_path: Path,
                                                                              county: TestCounty) -> None:
    doc, p = paged(county, "revoked-cards", {"cards": cards(10)})
    page = next(iter(p.pages.values()))
    with pytest.raises(RecordError):
        documents.verify_document(page.token, issuer(county), "revoked-cards", county.county_id)
    with pytest.raises(RecordError):
        documents.verify_document(p.index.token, issuer(county), "revoked-cards", county.county_id)
    with pytest.raises(RecordError):
        county_pages.verify_page(doc.token, issuer(county), "revoked-cards", county.county_id)
    with pytest.raises(RecordError):  # a page under another page's name
        key, other = sorted(p.pages)[:2]
        county_pages.verify_page(p.pages[key].token, issuer(county), "revoked-cards", county.county_id, other)
    held = CountyDocuments(tmp_path, county.county_id, issuer(county))
    assert not held.update("revoked-cards", page.token)
    assert not held.update("revoked-cards-page", doc.token)
    assert frozenset() == held.revoked_cards()


def test_only_the_page_that_changed_gets_a_new_version(county: TestCounty) -> None:
    body = {"cards": cards(3000)}
    _, first = paged(county, "revoked-cards", body)
    grown = {"cards": [*body["cards"], {"card": "f" * 16, "reason": "stolen"}]}
    _, second = paged(county, "revoked-cards", grown, version=2, previous=first)
    changed = {k for k, pg in second.pages.items() if pg.version == 2}
    assert {county_pages.bucket("f" * 16, second.digits)} == changed
    assert all(second.pages[k].token == first.pages[k].token for k in first.pages if k not in changed)
    assert second.index.version == 2 and county_pages.page_versions(second.index)[changed.pop()] == 2


def test_staff_and_programme_pages_are_per_venue_with_a_county_page(county: TestCounty) -> None:
    _, p = paged(county, "staff", {"staff": STAFF})
    assert {"v-east", "v-west", county_pages.COUNTY_PAGE} == set(p.pages)
    assert ["s-one", "s-two"] == [s["staff_id"] for s in p.pages["v-east"].body["staff"]]
    assert ["s-two"] == [s["staff_id"] for s in p.pages["v-west"].body["staff"]]
    assert ["s-all"] == [s["staff_id"] for s in p.pages[county_pages.COUNTY_PAGE].body["staff"]]
    body = {"categories": [{"id": "other"}], "session_defaults": {"grace_minutes": 5},
            "courses": [{"course_id": "c1", "venue": "v-east"}, {"course_id": "c2", "venue": "v-west"}]}
    _, prog = paged(county, "programme", body)
    assert body["categories"] == prog.pages[county_pages.COUNTY_PAGE].body["categories"]
    assert [{"course_id": "c1", "venue": "v-east"}] == prog.pages["v-east"].body["courses"]
    # a venue whose staff all left keeps an empty page at the new version: no stale page stays
    _, after = paged(county, "staff", {"staff": STAFF[2:]}, version=2, previous=p)
    assert (2, []) == (after.pages["v-west"].version, after.pages["v-west"].body["staff"])


def test_the_kiosk_holds_its_venues_pages_and_answers_from_them(tmp_path: Path, county: TestCounty) -> None:
    _, staff = paged(county, "staff", {"staff": STAFF})
    held = CountyDocuments(tmp_path, county.county_id, issuer(county), venue="v-west")
    assert not held.has_roster
    for page in staff.pages.values():
        held.update("staff-page", page.token)
    assert held.has_roster
    assert "s-two" == held.staff_entry("b" * 16)["staff_id"]
    assert "s-all" == held.staff_by_id("s-all")["staff_id"]
    assert held.staff_entry("a" * 16) is None  # another venue's page was not taken
    assert not (tmp_path / "staff.pages" / "v-east.jws").exists()
    again = CountyDocuments(tmp_path, county.county_id, issuer(county), venue="v-west")  # after a restart
    assert "s-two" == again.staff_entry("b" * 16)["staff_id"]


def test_a_forged_older_or_foreign_page_changes_nothing(tmp_path: Path, county: TestCounty) -> None:
    _, p = paged(county, "revoked-cards", {"cards": cards(50)}, version=5)
    held = CountyDocuments(tmp_path, county.county_id, issuer(county))
    key = sorted(p.pages)[0]
    assert held.update("revoked-cards-page", p.pages[key].token)
    victim = p.pages[key].body["cards"][0]["card"]
    thief = keys.private_key_from_seed(os.urandom(32))
    forged = documents.sign_document("revoked-cards-page", county.county_id, 9, {"page": key, "cards": []}, thief, NOW)
    assert not held.update("revoked-cards-page", forged.token)
    older = documents.sign_document("revoked-cards-page", county.county_id, 4, {"page": key, "cards": []},
                                 county.issuer, NOW)
    assert not held.update("revoked-cards-page", older.token)
    foreign = documents.sign_document("revoked-cards-page", "county-other", 9, {"page": key, "cards": []},
                                   county.issuer, NOW)
    assert not held.update("revoked-cards-page", foreign.token)
    assert victim in held.revoked_cards()


def test_a_missing_page_is_named_and_never_unrevokes_a_card(tmp_path: Path, county: TestCounty) -> None:
    body = {"cards": cards(3000)}
    whole, p = paged(county, "revoked-cards", body, version=3)
    held = CountyDocuments(tmp_path, county.county_id, issuer(county))
    assert held.update("revoked-cards", whole.token)  # the whole list of a small county (1.1)
    assert held.update("revoked-cards-index", p.index.token)
    lacking = sorted(p.pages)[0]
    for key, page in p.pages.items():
        if key != lacking:
            held.update("revoked-cards-page", page.token)
    assert {"revoked-cards": [lacking]} == held.missing_pages()
    assert not held.complete("revoked-cards")
    on_missing = p.pages[lacking].body["cards"][0]["card"]
    assert on_missing in held.revoked_cards()  # the whole list still names it
    held.update("revoked-cards-page", p.pages[lacking].token)
    assert {} == held.missing_pages() and held.complete("revoked-cards")
    assert {c["card"] for c in body["cards"]} == held.revoked_cards()


def test_the_registry_from_pages_knows_every_kiosk(tmp_path: Path, county: TestCounty) -> None:
    kiosks = {f"k-{i:04d}": f"v-{i // 4:03d}" for i in range(2000)}
    whole = county.registry(kiosks, version=2)
    p = county_pages.paginate(whole, county.issuer, NOW)
    assert len(whole.token) > documents.MAX_MESSAGE and all(len(x.token) <= documents.MAX_MESSAGE for x in p.pages.values())
    held = CountyDocuments(tmp_path, county.county_id, issuer(county))
    held.update("registry-index", p.index.token)
    for page in p.pages.values():
        held.update("registry-page", page.token)
    registry = held.registry()
    assert registry is not None and set(kiosks) == set(registry.kiosks)
    assert county.home_page == registry.home_page and 2 == registry.document.version
    assert registry.key_for("k-1999/1") is not None


def test_a_venue_page_over_the_limit_is_refused_and_the_home_writes_nothing(tmp_path: Path) -> None:
    from provisioning.errors import RegistryError
    from provisioning.home import CountyHome

    h = CountyHome.init(tmp_path / "home", "county-3301", "https://learn.county-3301.example", ["localhost"])
    crowd = [{"staff_id": f"s-{i:05d}", "card": f"{i:016x}", "role": "staff", "venues": ["v-big"],
              "pin_hash": "scrypt-card$32768$8$1$" + "0" * 32 + "$" + "0" * 64} for i in range(2000)]
    with pytest.raises(county_pages.PageTooLarge):
        paged(TestCounty(), "staff", {"staff": crowd})
    with pytest.raises(RegistryError, match="over the broker's message limit"):
        h.save_document("staff", {"staff": crowd})
    assert 1 == h.load_document("staff").version and 1 == h.load_pages("staff").index.version


def test_a_list_that_outgrows_its_pages_is_split_finer_and_the_kiosk_drops_the_old_pages(
        tmp_path: Path, county: TestCounty) -> None:
    _, small = paged(county, "revoked-cards", {"cards": cards(100)})
    assert 1 == small.digits
    grown = {"cards": cards(60_000)}  # about 5 MB: 16 pages would be over the limit
    _, big = paged(county, "revoked-cards", grown, version=2, previous=small)
    assert big.digits == 2 and all(len(k) == 2 for k in big.pages)
    held = CountyDocuments(tmp_path, county.county_id, issuer(county))
    held.update("revoked-cards-index", small.index.token)
    for page in small.pages.values():
        held.update("revoked-cards-page", page.token)
    for page in big.pages.values():  # the new pages come first (the gateway publishes the index last)
        held.update("revoked-cards-page", page.token)
    held.update("revoked-cards-index", big.index.token)
    assert set(big.pages) == set(held._pages["revoked-cards"])  # the one-digit pages are gone, on disk too
    assert not any(len(p.stem) == 1 for p in (tmp_path / "revoked-cards.pages").glob("*.jws"))
    assert {c["card"] for c in grown["cards"]} == held.revoked_cards()


def test_a_venue_index_over_the_limit_does_not_stop_the_roster(county: TestCounty) -> None:
    """Kiosks never read the staff index (only their venue's page): 20,000 venues make an
    index over the limit, which the gateway does not publish; the pages are still made."""
    staff = [{"staff_id": f"s-{i}", "card": f"{i:016x}", "role": "staff", "venues": [f"v-p{i:05d}"],
              "pin_hash": "x"} for i in range(20_000)]
    _, p = paged(county, "staff", {"staff": staff})
    assert len(p.index.token) > documents.MAX_MESSAGE and 20_001 == len(p.pages)
