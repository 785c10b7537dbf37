"""What the kiosk says to people, in zh_CN and en. One place, so the screen, the speech and
the CLI say the same thing.

A message is a headline, then (after a line break) its details: the screen puts the headline
in the coloured banner and the details on their own lines below; the speech says all of it.
Check-in and check-out differ in their first word (欢迎 / 再见), not only in one character.
Times are minutes; hours only above 120 minutes (说的和写的一样)."""

from __future__ import annotations

STAFF_DESK = {"zh_CN": "请到服务台找工作人员", "en": "Please see the staff desk"}

_SAY = {
    "checkin": ("欢迎！签到成功\n课程：《{course}》", "Welcome! Checked in\nCourse: {course}"),
    "checkin-self": ("欢迎！签到成功\n自主学习", "Welcome! Checked in\nSelf-study"),
    "checkout": ("再见！签退成功\n本次学习{duration}，认定{minutes}分钟学时",
                 "Goodbye! Checked out\n{duration_en} today, {minutes} minutes credited"),
    "staff-card": ("工作人员卡\n请输入密码", "Staff card\nPlease enter your PIN"),
    # several kiosks in the venue and this one cannot see the others: no minutes are known here
    "checkout-unpaired": ("已签退", "Checked out"),
    "ask-direction": ("请选择\n签到还是签退？", "Please choose\nArriving or leaving?"),
}

_REJECT = {
    "unknown-issuer": ("不能使用这张卡\n这张卡不是本县发放的学习卡",
                       "This card cannot be used\nIt was not issued by this county"),
    "revoked": ("不能使用这张卡\n这张卡已挂失或停用", "This card cannot be used\nIt was reported lost or withdrawn"),
    "forged": ("不能使用这张卡\n卡上的数据无法验证", "This card cannot be used\nIts data could not be verified"),
    "expired": ("不能使用这张卡\n这张卡已过期", "This card cannot be used\nIt has expired"),
    "malformed": ("没有读懂\n无法识别卡片或二维码", "Could not read it\nThe card or code was not recognised"),
    "truncated": ("没有读完\n卡片只读到一部分", "Not read completely\nOnly part of the card was read"),
    "no-ndef": ("不能使用这张卡\n卡上没有学习卡数据", "This card cannot be used\nIt holds no learning-card data"),
    "foreign-ndef": ("这不是学习卡", "This is not a learning card"),
    "no-session": ("现在不能签到\n现在没有开放的课程", "Check-in is not possible now\nNo session is open"),
    "bad-learner-code": ("学习码不正确", "The learner code is not correct"),
    "staff-card": ("不能签到\n工作人员卡不能用于签到", "Not checked in\nA staff card cannot be used to check in"),
    "slip-forged": ("不能使用这张凭条\n临时凭条无法验证，可能是伪造的，请到服务台",
                    "This slip cannot be used\nIt could not be verified (it may be forged): please see the staff desk"),
    "slip-expired": ("不能使用这张凭条\n临时凭条已过期，请到服务台办理学习卡",
                     "This slip cannot be used\nIt has expired: please see the staff desk for a learning card"),
    "slip-unknown-kiosk": ("不能使用这张凭条\n开凭条的设备不在本县登记中，请到服务台",
                           "This slip cannot be used\nThe kiosk that made it is not registered: see the staff desk"),
    "slip-other-county": ("不能使用这张凭条\n这张临时凭条不是本县发的",
                          "This slip cannot be used\nIt was made in another county"),
    "slip-unsigned": ("不能使用这张凭条\n这是旧式临时学习号，请到服务台重新打印凭条",
                      "This slip cannot be used\nIt is an old, unsigned code: ask the staff desk for a new slip"),
    "slip-malformed": ("没有读懂\n临时学习凭条无法识别，请到服务台", "Could not read it\nThe walk-in slip was not "
                       "recognised: please see the staff desk"),
}

_ADVICE = {
    "truncated": {"zh_CN": "请把卡平放在感应区，停留一秒钟", "en": "Hold the card flat on the reader for a second"},
    "malformed": {"zh_CN": "请重新刷卡或出示二维码；仍不行请到服务台",
                  "en": "Please try again; if it still fails, see the staff desk"},
    "revoked": {"zh_CN": "请到服务台补办新卡", "en": "Please see the staff desk for a new card"},
    "expired": {"zh_CN": "请到服务台换发新卡", "en": "Please see the staff desk for a new card"},
}


def duration_text(seconds: int) -> str:
    """Minutes; hours and minutes only above 120 minutes."""
    minutes = max(0, seconds) // 60
    if minutes <= 120:
        return f"{minutes}分钟"
    hours, rest = divmod(minutes, 60)
    return f"{hours}小时{rest}分钟" if rest else f"{hours}小时"


def duration_text_en(seconds: int) -> str:
    minutes = max(0, seconds) // 60
    if minutes <= 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def say(what: str, *, course: str | None = None, duration: str = "", minutes: int = 0,
        seconds: int = 0) -> dict[str, str]:
    if what == "checkin" and not course:
        what = "checkin-self"
    zh, en = _SAY[what]
    values = {"course": course or "", "duration": duration, "minutes": minutes,
              "duration_en": duration_text_en(seconds) if seconds else duration}
    return {"zh_CN": zh.format(**values), "en": en.format(**values)}


def rejection(reason: str) -> tuple[dict[str, str], dict[str, str]]:
    zh, en = _REJECT.get(reason, _REJECT["malformed"])
    return {"zh_CN": zh, "en": en}, _ADVICE.get(reason, STAFF_DESK)


def every_message() -> dict[str, dict[str, str]]:
    """Every sentence this module can produce, with sample values (the speech test)."""
    out = {f"say:{k}": say(k, course="智能手机入门", duration=duration_text(3000), minutes=50, seconds=3000)
           for k in _SAY}
    out["say:checkout-long"] = say("checkout", duration=duration_text(9000), minutes=150, seconds=9000)
    out |= {f"reject:{k}": rejection(k)[0] for k in _REJECT}
    out |= {f"advice:{k}": v for k, v in _ADVICE.items()}
    out["advice:staff-desk"] = STAFF_DESK
    return out
