"""The county's privacy settings (个人信息保护法): read by the kiosk (the notice it shows and
the consent record it makes) and by the gateway (retention, the notice of county-side
consents). One section, the same on both: the county sets it once."""

from __future__ import annotations

from learncard.config import Key
from records.consent import DEFAULT_COLLECTED, DEFAULT_GUARDIAN_AGE, DEFAULT_NOTICE, DEFAULT_PURPOSES

SECTIONS: dict[str, dict[str, Key]] = {
    "privacy": {
        "notice": Key(DEFAULT_NOTICE, help="the version of the privacy notice residents consent to"),
        "notice_zh": Key("我们记录您的学习码、签到签退时间和学时，用于您的终身学习档案和县里的统计，不记录姓名和电话。"
                         "保存期限按县里的规定。", help="the notice as the screen shows it, in Chinese (short)"),
        "notice_en": Key("We record your learner code, check-in and check-out times and study hours, for your "
                         "lifelong-learning record and the county's statistics; no name or phone number. Kept as "
                         "long as the county's rules say.", help="the notice in English (short)"),
        "collected": Key(list(DEFAULT_COLLECTED), "list", help="what is collected, as the consent record names it"),
        "purposes": Key(list(DEFAULT_PURPOSES), "list", help="for what, as the consent record names it"),
        "guardian_age": Key(DEFAULT_GUARDIAN_AGE, "int",
                            help="under this age a guardian's consent is needed too (个人信息保护法 art. 31: 14; "
                            "a county may choose up to 18); the kiosk asks with it, the consent record names it"),
        "retention_days": Key("", help="days each record type is kept, e.g. attendance.checkin=1095,rating=730; "
                              "`learncard gateway purge` deletes what is older (empty: keep all)"),
    },
}
