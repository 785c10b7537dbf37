"""What is wrong with this kiosk, in words staff can act on (zh_CN and en), from the agent's
``status`` health: a signing key that is not the enrolled one (taps refused), why the uplink
cannot connect, the uplink's alarms (the gateway does not know this kiosk yet, a receipt that
does not match, lines refused on this kiosk's topic) and the certificate's coming expiry.
No Kivy here: the screens show these lines, the tests read them."""

from __future__ import annotations

from typing import Any

WORDS = {
    "gateway-hold": ("县网关还不认识本机（{error}）：记录都已保存，约 {retry} 秒后重试。"
                     "请联系县信息中心把本机加入登记表",
                     "the county gateway does not know this kiosk yet ({error}): every record is kept and sent "
                     "again in about {retry} s. Ask county IT to add this kiosk to the registry"),
    "refused": ("网关拒收了 {count} 条以本机名义发来、签名不对的消息：本机证书可能被盗用，请立即联系县信息中心",
                "the gateway refused {count} messages sent in this kiosk's name with a wrong signature: "
                "this kiosk's certificate may have been stolen. Call county IT now"),
    "receipt-mismatch": ("收到的回执与本机记录不符，未作处理，请联系县信息中心",
                         "a gateway receipt does not match this kiosk's records (nothing settled): tell county IT"),
    "kept": ("。记录都已保存；请检查网络，或联系县信息中心",
             ". Every record is kept; check the network, or call county IT"),
}


def _say(key: str, language: str, **values: object) -> str:
    zh, en = WORDS[key]
    return (en if language == "en" else zh).format(**values)


def _pick(message: Any, language: str) -> str:
    if not isinstance(message, dict):
        return ""
    return str(message.get("en" if language == "en" else "zh_CN") or message.get("en") or "")


def troubles(health: dict[str, Any], language: str) -> list[str]:
    """Each problem as one line saying what is wrong and what to do (worst first)."""
    lines = []
    identity = health.get("identity")
    if identity:
        lines.append(_pick(identity.get("message"), language))
    alarms = health.get("alarms") or {}
    if "refused" in alarms:
        lines.append(_say("refused", language, count=alarms["refused"].get("count", "?")))
    if "receipt-mismatch" in alarms:
        lines.append(_pick(alarms["receipt-mismatch"].get("message"), language)
                     or _say("receipt-mismatch", language))
    if "gateway-hold" in alarms:
        hold = alarms["gateway-hold"]
        lines.append(_say("gateway-hold", language, error=hold.get("error", "?"), retry=hold.get("retry_seconds", "?")))
    problem = _pick(health.get("uplink_problem"), language)
    if problem:
        lines.append(problem + _say("kept", language))
    certificate = _pick(health.get("certificate"), language)
    if certificate:
        lines.append(certificate)
    mark = "! " if language == "en" else "！"  # no space in Chinese: the line must not wrap after it
    return [mark + line for line in lines if line]

