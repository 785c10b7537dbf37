"""The touchscreen's own words, in zh_CN and en (results come from the agent in both)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "tap_here": ("请刷卡或扫码", "Tap your card or show your code"),
    "where_to_tap": ("把学习卡平放在下方感应区，或把二维码对准摄像头",
                     "Hold the card flat on the reader below, or show the QR code to the camera"),
    "other_language": ("English", "中文"),
    "agent_down": ("签到服务暂停，请稍候或找工作人员", "Check-in is paused: please wait or see the staff"),
    "sessions_now": ("正在上课：", "Sessions now:"),
    "present_suffix": (" 人在场", " present"),
    "no_session": ("现在没有课程，可以自主学习签到", "No session now: you may check in for self-study"),
    "online": ("● 已联网", "● online"),
    "offline": ("○ 离线：记录已保存，联网后上传", "○ offline: records are kept and sent later"),
    "hello": ("{name}，您好", "Hello, {name}"),
    "time_today": ("今天在场 {minutes} 分钟", "Present today: {minutes} min"),
    "hours_year": ("今年在本馆累计 {hours} 小时", "This year at this venue: {hours} h"),
    "done": ("完成", "Done"),
    "rate": ("您对这次课满意吗？（可不选）", "How was the session? (you may skip)"),
    "rate_1": ("很差", "poor"),
    "rate_2": ("较差", "fair"),
    "rate_3": ("一般", "OK"),
    "rate_4": ("满意", "good"),
    "rate_5": ("很好", "great"),
    "thanks": ("谢谢您的评价", "Thank you for your rating"),
    "pin_title": ("工作人员请输入密码", "Staff: enter your PIN"),
    "cancel": ("取消", "Cancel"),
    "ok": ("确定", "OK"),
    "staff_title": ("工作人员：{staff}", "Staff: {staff}"),
    "open_session": ("开始上课", "Open a session"),
    "close_session": ("结束本节课", "Close the session"),
    "roster": ("在场名单", "Roster"),
    "manual": ("补录签到", "Record attendance"),
    "walkin": ("新学员登记", "Enrol a walk-in"),
    "figures": ("今日统计", "Today's figures"),
    "lock": ("退出", "Lock"),
    "course": ("课程名称", "Course title"),
    "learner_code": ("学习码（13位）", "Learner code (13 digits)"),
    "figures_text": ("签到 {checkins} 人次，签退 {checkouts}，学员 {learners} 人，认定 {minutes} 分钟",
                     "{checkins} check-ins, {checkouts} check-outs, {learners} learners, {minutes} min credited"),
    "health_text": ("{online}；待上传 {pending} 条（最早 {oldest} 秒前）；读卡器 {readers}；时钟 {clock}",
                    "{online}; {pending} records waiting (oldest {oldest} s); readers {readers}; clock {clock}"),
    "walkin_slip": ("临时学习号：{learner}（请保留此码）", "Temporary learner id: {learner} (keep this code)"),
    "locked": ("工作人员模式已锁定", "Staff mode locked"),
}


def t(key: str, language: str, **values: object) -> str:
    zh, en = TEXTS[key]
    return (en if language == "en" else zh).format(**values)


def pick(message: dict[str, str] | None, language: str) -> str:
    """The agent's two-language message in the screen's language."""
    if not message:
        return ""
    return message.get("en" if language == "en" else "zh_CN", "")
