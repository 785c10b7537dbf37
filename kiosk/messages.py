"""What the kiosk says to people, in zh_CN and en. One place, so the screen, the speech and
the CLI say the same thing."""

from __future__ import annotations

STAFF_DESK = {"zh_CN": "请到服务台找工作人员", "en": "Please see the staff desk"}

_SAY = {
    "checkin": ("签到成功，欢迎参加《{course}》", "Checked in: welcome to {course}"),
    "checkin-self": ("签到成功，自主学习", "Checked in for self-study"),
    "checkout": ("签退成功，本次学习{duration}，计{minutes}分钟学时",
                 "Checked out: {duration_en} today, {minutes} minutes credited"),
    "staff-card": ("工作人员卡，请输入密码", "Staff card: please enter your PIN"),
}

_REJECT = {
    "unknown-issuer": ("这张卡不是本县发放的学习卡", "This card was not issued by this county"),
    "revoked": ("这张卡已挂失停用", "This card has been revoked"),
    "forged": ("这张卡无法验证", "This card could not be verified"),
    "expired": ("这张卡已过期", "This card has expired"),
    "malformed": ("无法识别卡片或二维码", "The card or code could not be read"),
    "truncated": ("卡片数据不完整，请重新刷卡", "The card was read only in part: please tap again"),
    "no-ndef": ("这张卡上没有学习卡数据", "This card holds no learning-card data"),
    "foreign-ndef": ("这不是学习卡", "This is not a learning card"),
    "no-session": ("现在没有开放的课程，不能签到", "No session is open now: check-in is not possible"),
    "bad-learner-code": ("学习码不正确", "The learner code is not correct"),
    "staff-card": ("工作人员卡不能用于签到", "A staff card cannot be used to check in"),
}

_ADVICE = {
    "truncated": {"zh_CN": "请把卡平放在感应区，停留一秒", "en": "Hold the card flat on the reader for a second"},
    "malformed": {"zh_CN": "请重新刷卡或出示二维码；仍不行请到服务台",
                  "en": "Please try again; if it still fails, see the staff desk"},
}


def duration_text(seconds: int) -> str:
    hours, rest = divmod(max(0, seconds), 3600)
    minutes = rest // 60
    return f"{hours}小时{minutes}分" if hours else f"{minutes}分钟"


def duration_text_en(seconds: int) -> str:
    hours, rest = divmod(max(0, seconds), 3600)
    minutes = rest // 60
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


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
