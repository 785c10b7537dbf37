"""Listening-free checks of the Mandarin speech (docs/ui.md): no character of any zh_CN
sentence is read through English rules (espeak-ng's -x phonemes have no "(en)" switch), and
every sentence renders to audio that is not silent and of a sensible length (sox stat)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
import wave

import pytest

from kiosk import messages
from kiosk.ui import speech
from kiosk.ui.texts import TEXTS

pytestmark = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                reason="espeak-ng and sox (Debian espeak-ng sox) are needed")

SAMPLES = {"name": "王*明", "minutes": 50, "duration": "50分钟", "hours": 3, "staff": "s-0001", "checkins": 12,
           "checkouts": 9, "learners": 10, "online": "已联网", "pending": 3, "oldest": 40, "readers": "刷卡器 正常",
           "clock": "已校准", "learner": "T123", "n": 2, "seconds": 15, "value": 140, "error": "设备忙"}


def zh_sentences() -> dict[str, str]:
    """Every zh_CN sentence the kiosk can say: the agent's messages and the screen's texts."""
    out = {key: m["zh_CN"] for key, m in messages.every_message().items()}
    for key, (zh, _) in TEXTS.items():
        if key == "other_language":  # the button that switches to English says "English": never spoken
            continue
        out[f"text:{key}"] = zh.format(**SAMPLES) if "{" in zh else zh
    out["duplicate"] = "您已在 09:02 签到，无需重复刷卡"
    out["pin-wrong"] = "密码不对，还可以再试 2 次"
    return out


def phonemes(text: str) -> str:
    return subprocess.run(["espeak-ng", "-q", "-x", "-v", speech.VOICES["zh_CN"], speech.pinyin_text(text)],
                          capture_output=True, text=True, check=True, timeout=30).stdout


@pytest.mark.parametrize(("key", "text"), sorted(zh_sentences().items()))
def test_no_character_is_read_through_english_rules(key: str, text: str) -> None:
    said = phonemes(text)
    assert "(en)" not in said, (key, speech.pinyin_text(text), said)
    hanzi = re.findall(r"[\u3400-\u9fff]", text)
    syllables = re.findall(r"[a-z]+[1-5]", speech.pinyin_text(text))
    assert len(syllables) >= len(hanzi), (key, speech.pinyin_text(text))  # no character left out


def test_the_old_voice_would_fail_this_test() -> None:
    """The check can fail: plain `-v cmn` on Hanzi switches to English."""
    said = subprocess.run(["espeak-ng", "-q", "-x", "-v", "cmn", "签到成功"], capture_output=True, text=True,
                          check=True).stdout
    assert "(en)" in said


def stat(wav: bytes) -> dict[str, float]:
    result = subprocess.run(["sox", "-t", "wav", "-", "-n", "stat"], input=wav, capture_output=True, check=True)
    values = {}
    for line in result.stderr.decode().splitlines():
        name, _, value = line.partition(":")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            pass
    return values


@pytest.mark.parametrize(("key", "text"), sorted(zh_sentences().items()))
def test_every_sentence_renders_to_audible_audio_of_sensible_length(key: str, text: str) -> None:
    wav = speech.render(text, "zh_CN")
    with wave.open(io.BytesIO(wav)) as w:
        assert 1 == w.getnchannels()
    s = stat(wav)
    syllables = max(1, len(re.findall(r"[a-z]+[1-5]|\d", speech.pinyin_text(text))))
    assert s["RMS     amplitude"] > 0.02, (key, s)  # not silence
    assert 0.12 * syllables <= s["Length (seconds)"] <= 0.6 * syllables + 1.5, (key, syllables, s)


def test_english_renders_too() -> None:
    s = stat(speech.render("Welcome! Checked in. Hello, 王*明", "en"))
    assert s["Length (seconds)"] > 1 and s["RMS     amplitude"] > 0.02


@pytest.mark.parametrize(("text", "expected"), [
    ("王*明，您好", "wang2 mou3 ming2, nin2 hao3"),  # the mask is said as 某, not "asterisk"
    ("密码不对，还可以再试 2 次", "mi4 ma3 bu2 dui4, hai2 ke2 yi3 zai4 shi4 2 ci4"),  # 还 hai2 (a polyphone), 不 and 3-3 tone sandhi
    ("您已在 09:02 签到", "nin2 yi3 zai4 9 dian3 ling2 2 fen1 qian1 dao4"),
    ("课程：《Python入门》", "ke4 cheng2, ru4 men2"),  # Latin letters would switch to English: left out
])
def test_pinyin_text(text: str, expected: str) -> None:
    assert expected == speech.pinyin_text(text)


def test_a_missing_device_is_noticed() -> None:
    """espeak-ng exits 0 without a device; the sink's answer is what health reports."""
    sink = speech.RecordingSink(device=False)
    speaker = speech.Speaker(True, sink)
    speaker.say("签到成功", "zh_CN")
    assert speaker.idle()
    health = speaker.health()
    assert (False, False) == (health["device"], health["last_ok"]) and health["last_error"]
    assert [] == sink.wavs


def test_aplay_without_a_sound_card_fails_loudly() -> None:
    if not shutil.which("aplay"):
        pytest.skip("aplay (alsa-utils) is not installed")
    sink = speech.AplaySink("hw:99")
    import threading

    assert sink.play(speech.tone(), threading.Event())  # a reason, not ""


def test_the_renderer_process_is_started_again_after_it_died() -> None:
    """The renderer (pypinyin, espeak-ng) is a process of its own; killed, the next sentence
    starts a new one and is still spoken whole into the sink."""
    import os
    import signal

    sink = speech.RecordingSink()
    speaker = speech.Speaker(True, sink)
    try:
        speaker.say("签到成功", "zh_CN")
        assert speaker.idle() and 1 == len(sink.wavs)
        first = speaker.renderer.pid()
        assert first and first != os.getpid()
        os.kill(first, signal.SIGKILL)
        os.waitpid(first, 0)
        speaker.last_at = 0.0
        speaker.say("签退成功", "zh_CN")
        assert speaker.idle() and speaker.last_ok, speaker.last_error
        assert 2 == len(sink.wavs) and len(sink.wavs[1]) > 22050
        assert speaker.renderer.pid() not in (None, first)
    finally:
        speaker.close()


def test_a_newer_answer_replaces_one_not_yet_spoken() -> None:
    sink = speech.RecordingSink()
    speaker = speech.Speaker(True, sink)
    try:
        newest = speech.render("重复刷卡", "zh_CN")
        for text in ("签到成功", "签退成功", "重复刷卡"):
            speaker.say(text, "zh_CN")
        deadline = time.monotonic() + 60
        while newest not in sink.wavs and time.monotonic() < deadline:
            time.sleep(0.05)
        assert newest == sink.wavs[-1]
        assert len(sink.wavs) <= 2  # the first may have been under way; the middle one is never spoken
    finally:
        speaker.close()
