"""The gateway's county files while someone writes them in place (an editor, scp): a
half-written registry never replaces the one in force, and the finished file is loaded."""

from __future__ import annotations

from pathlib import Path

from gateway.county_files import CountyFiles
from tests.support.county import TestCounty


def test_half_written_registry_keeps_the_one_in_force_then_loads_the_whole(tmp_path: Path,
                                                                          county: TestCounty) -> None:
    path = tmp_path / "registry.jws"
    path.write_text(county.registry({"k-a": "v-test"}, 1).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": path})
    files.load(first=True)
    whole = county.registry({"k-a": "v-test", "k-new": "v-test"}, 2).token
    path.write_text(whole[: len(whole) // 2])  # the poller looks while the copy is half done
    assert files.changed_on_disk()
    assert [] == files.load()
    assert (1, {"k-a"}) == (files.document("registry").version, set(files.registry().kiosks))
    path.write_text(whole)
    assert files.changed_on_disk()
    assert ["registry"] == files.load()
    assert {"k-a", "k-new"} == set(files.registry().kiosks)


def test_a_registry_signed_by_another_key_or_older_is_ignored(tmp_path: Path, county: TestCounty) -> None:
    path = tmp_path / "registry.jws"
    path.write_text(county.registry({"k-a": "v-test"}, 3).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": path})
    files.load(first=True)
    path.write_text(TestCounty(county_id=county.county_id).registry({"k-evil": "v-test"}, 9).token)
    assert [] == files.load()
    path.write_text(county.registry({"k-old": "v-test"}, 2).token)
    assert [] == files.load()
    assert {"k-a"} == set(files.registry().kiosks)
