"""Settings of the kiosk programs (agent, UI, readers, uplink)."""

from __future__ import annotations

from learncard.config import Key

SECTIONS: dict[str, dict[str, Key]] = {
    "kiosk": {
        "id": Key(None, required=True, help="kiosk id, [a-z0-9-]{3,40}"),
        "venue": Key(None, required=True, help="venue id from the enrolment"),
        "venue_name": Key("", help="the venue's name as shown on screen"),
        "timezone": Key("Asia/Shanghai", help="the venue's time zone"),
        "trust_rtc": Key(False, "bool", help="the battery-backed clock was set: trust it without NTP "
                                             "(else the screen says 暂停使用 until the time is known)"),
        "key_path": Key("kiosk.key", "path", help="Ed25519 signing key (PEM, mode 0600)"),
        "key_version": Key(1, "int", help="version of the signing key in the registry"),
        "signing_public_key": Key("", help="public signing key the enrolment registered (base64url); "
                                  "the agent refuses taps with any other key"),
        "state_dir": Key("/var/lib/learncard", "path", help="journal, head file, lists"),
        "driven_clock": Key("", help="TESTS ONLY: RFC 3339 start of a clock that moves only by the "
                            "control op clock.advance; empty on every real kiosk"),
    },
    "county": {
        "id": Key(None, required=True, help="county id"),
        "home_page": Key("", help="IRI used as xAPI account home page"),
        "issuer_public_key": Key(None, required=True, help="county issuer key, base64url"),
    },
    "journal": {
        "path": Key("journal.sqlite3", "path", help="relative to kiosk.state_dir if relative"),
        "max_bytes": Key(512 * 1024 * 1024, "int", help="above this new taps are refused"),
        "retention_days": Key(90, "int", help="settled records older than this are pruned"),
    },
    "rules": {
        "debounce_seconds": Key(120, "int", help="repeated tap of one card within this: no record"),
        "no_session": Key("self-study", help="tap with no open session: self-study or refuse"),
        "staff_idle_lock_seconds": Key(60, "int"),
        "staff_pin_attempts": Key(5, "int", help="failed PINs before the staff card is locked"),
        "staff_lockout_seconds": Key(300, "int"),
    },
    "printer": {
        "device": Key("", help="walk-in slip printer (ESC/POS): usb:VENDOR:PRODUCT, serial:/dev/ttyUSB0[:BAUD], "
                      "file:/dev/usb/lp0; empty: the slip stays on screen"),
        "paper_mm": Key(58, "int", help="receipt paper width: 58 or 80"),
        "slip_days": Key(90, "int", help="how long a walk-in slip is accepted at the county's kiosks"),
    },
    "control": {
        "socket": Key("/run/learncard/agent.sock", "path", help="the agent's Unix socket"),
    },
    "readers": {
        "enabled": Key(["simulated"], "list", help="simulated, nfc, hid, camera"),
        "nfc_device": Key("usb", help="nfcpy device path, e.g. usb, tty:USB0:pn532, udp"),
        "nfc_poll_ms": Key(50, "int", help="milliseconds between NFC polls while no card is there"),
        "hid_device": Key("", "path", help="/dev/input/by-id/... of a keyboard-wedge scanner"),
        "camera_device": Key(0, "int", help="camera index for QR scanning"),
        "camera_source": Key("", help="a camera's device path (/dev/v4l/by-id/…-video-index0) or a video "
                             "file; empty: camera_device's index"),
    },
    "uplink": {
        "host": Key("localhost", help="MQTT broker host"),
        "port": Key(1883, "int"),
        "tls": Key(False, "bool"),
        "ca_file": Key("", "path"),
        "cert_file": Key("", "path"),
        "key_file": Key("", "path"),
        "batch_size": Key(200, "int", help="records per MQTT message, at most"),
        "window": Key(8, "int", help="messages in flight waiting for a receipt"),
        "resend_after_seconds": Key(30, "int"),
        "checkpoint_seconds": Key(900, "int"),
        "clock_max_rtt_seconds": Key(2, "int", help="a receipt's time sets the clock only when its round trip "
                                     "was at most this"),
    },
    "ui": {
        "language": Key("zh_CN", help="zh_CN or en"),
        "font": Key("", "path", help="a font file with Simplified-Chinese glyphs"),
        "speech": Key(True, "bool", help="speak results with espeak-ng"),
        "fullscreen": Key(True, "bool"),
        "screen_inches": Key("", help="the panel's diagonal in inches (e.g. 7 or 10.1), so that dp are "
                                      "real; empty: Kivy's own density"),
        "screen_pixels": Key("1280x800", help="the panel's resolution, WIDTHxHEIGHT"),
        "result_seconds": Key(10, "int", help="a result goes back to the tap prompt after this long"),
        "rating_seconds": Key(60, "int", help="how long the rating after a check-out waits"),
        "reader_position": Key("below", help="where the card reader is: below, right or left of the screen"),
        "audio_device": Key("default", help="ALSA device for speech (aplay -D)"),
        "audio_settings": Key("/var/lib/learncard-ui/ui-audio.json", "path",
                              help="where the volume and speech rate set in staff mode are kept (the screen's "
                                   "own state folder); empty: not kept"),
    },
}

REQUIRED = ("kiosk", "county")
