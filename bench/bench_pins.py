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

from bench.result import Result, median, percentile
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
    n = 8 if quick else 40
    secret, salt = os.urandom(county.CARD_SECRET_BYTES), os.urandom(16)
    stored = county.hash_pin("4821", secret, salt)
    new = _times(lambda pin: county.check_pin(pin, secret, stored), n)
    old_salt = os.urandom(16)
    old = _times(lambda pin: hashlib.scrypt(pin.encode(), salt=old_salt, n=2**14, r=8, p=1, dklen=32), n)
    per_try = median(new)
    six_digits_days = 10**6 * per_try / 86_400
    without_card_years = 2.0**128 * per_try / SECONDS_PER_YEAR
    return [
        Result(GROUP, f"one roster PIN check, median (n = {n})", per_try * 1000, "ms",
               "PIN-only scrypt N=2^14 (the old roster), median", median(old) * 1000),
        Result(GROUP, f"one roster PIN check, p99 (n = {n})", percentile(new, 99) * 1000, "ms",
               "PIN-only scrypt N=2^14, p99", percentile(old, 99) * 1000),
        Result(GROUP, "offline search of a 6-digit PIN *with* the stolen staff card, one core",
               six_digits_days, "days",
               "4 digits with the card", 10**4 * per_try / 86_400),
        Result(GROUP, "offline search without the card (2^128 secrets × one PIN), one core: log10 of",
               math.log10(without_card_years), "years",
               goal="≥ 1 year of desktop CPU (log10 ≥ 0)", met=without_card_years >= 1,
               note=(f"Per try {per_try * 1000:.0f} ms; without the card the search is over the "
                     f"card's 128-bit secret: 2^128 × {per_try:.3f} s ≈ {without_card_years:.1e} "
                     f"core-years (a 64-core desktop: {without_card_years / 64:.0e} years). With the "
                     f"card in hand it is 10^4..10^6 PINs: {10**4 * per_try / 60:.0f} min for 4 "
                     f"digits, {six_digits_days:.1f} days for 6 on one core — a lost staff card "
                     "must be removed from the roster (`provision staff remove`) and revoked. "
                     f"The old PIN-only roster fell in 10^4 × {median(old):.3f} s = "
                     f"{10**4 * median(old) / 60:.0f} min. The two-core machine was shared with "
                     "other work: both figures of a row were measured one after the other in the same run.")),
    ]
