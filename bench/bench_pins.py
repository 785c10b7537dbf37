"""Staff PIN roster: what one guess costs someone who holds a stolen kiosk's files.

One try = one roster check as the kiosk does it (``records.county.check_pin``, scrypt
N = 2^15, r = 8, p = 1 over the PIN and the staff card's 128-bit secret). Baseline, in the
same run: the PIN-only form rosters had before (scrypt N = 2^14 over the PIN alone), the one
the issue cracked in 34 s. One core; an attacker's desktop runs one try per core at a time
(32 MiB each), so divide by its core count.
"""

from __future__ import annotations

import hashlib
import math
import os
import time

from bench.result import Result, interleave_samples, percentile
from records import county

GROUP = "Staff PIN roster on a stolen kiosk (issue 11)"
SECONDS_PER_YEAR = 365.25 * 86_400


def _times(check: object, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        check(f"{i:04d}")  # type: ignore[operator]
        out.append(time.perf_counter() - t0)
    return out


def run(quick: bool) -> list[Result]:
    rounds, per_round = (5, 4) if quick else (5, 200)  # 1,000 tries a side: a p99 on n ≥ 1,000
    secret, salt = os.urandom(county.CARD_SECRET_BYTES), os.urandom(16)
    stored = county.hash_pin("4821", secret, salt)
    old_salt = os.urandom(16)
    got = interleave_samples(
        rounds, lambda _: _times(lambda pin: county.check_pin(pin, secret, stored), per_round),
        lambda _: _times(lambda pin: hashlib.scrypt(pin.encode(), salt=old_salt, n=2**14, r=8, p=1, dklen=32),
                         per_round))
    new, old = got.pooled, got.pooled_baseline
    # an attacker's core is not shared: the search times take the 1st percentile of the tries,
    # near what an idle core gives, not the median a shared machine inflates
    per_try, old_try = percentile(new, 1), percentile(old, 1)
    six_digits_days = 10**6 * per_try / 86_400
    without_card_years = 2.0**128 * per_try / SECONDS_PER_YEAR
    shared = ("The two-core machine was shared with other helpers' work: the roster check and the old "
              f"PIN-only hash ran in {rounds} interleaved rounds of {per_round} tries each.")
    return [
        Result.of_samples(GROUP, "one roster PIN check, median", got, 50, "ms",
                          "PIN-only scrypt N=2^14 (the old roster), median", scale=1000),
        Result.of_samples(GROUP, "one roster PIN check, p99", got, 99, "ms",
                          "PIN-only scrypt N=2^14, p99", scale=1000, note=shared),
        Result(GROUP, "offline search of a 6-digit PIN *with* the stolen staff card, one core",
               six_digits_days, "days",
               "4 digits with the card", 10**4 * per_try / 86_400),
        Result(GROUP, "offline search without the card (2^128 secrets × one PIN), one core: log10 of",
               math.log10(without_card_years), "years",
               goal="≥ 1 year of desktop CPU (log10 ≥ 0)", met=without_card_years >= 1,
               note=(f"Per try {per_try * 1000:.0f} ms (the 1st percentile of the {len(new):,} tries: this "
                     "shared machine inflates the median, an attacker's own core does not); without the card "
                     "the search is over "
                     f"the card's 128-bit secret: 2^128 × {per_try:.3f} s ≈ {without_card_years:.1e} "
                     f"core-years (a 64-core desktop: {without_card_years / 64:.0e} years). With the "
                     f"card in hand it is 10^4..10^6 PINs: {10**4 * per_try / 60:.0f} min for 4 "
                     f"digits, {six_digits_days:.1f} days for 6 on one core — a lost staff card "
                     "must be removed from the roster (`provision staff remove`) and revoked. "
                     f"The old PIN-only roster fell in 10^4 × {old_try:.3f} s = "
                     f"{10**4 * old_try / 60:.0f} min.")),
    ]
