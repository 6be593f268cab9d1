from __future__ import annotations

import pytest

from cloud_api.pages.i18n import MESSAGES, Translator, negotiate_language

STATES_ZH = {
    "accepted": "受理",
    "dispatched": "已派工",
    "scheduled": "已预约",
    "en_route": "已出发",
    "repairing": "检修中",
    "waiting_for_parts": "待备件",
    "completed": "已完工",
    "followed_up": "已回访",
    "closed": "已关闭",
    "cancelled": "已取消",
}


@pytest.mark.parametrize(("state", "label"), sorted(STATES_ZH.items()))
def test_state_labels_use_the_service_flow_chinese_terms(state: str, label: str) -> None:
    assert Translator.for_language("zh-CN").state(state) == label


def test_english_translator_gives_english_labels() -> None:
    t = Translator.for_language("en")
    assert t.state("waiting_for_parts") == "Waiting for parts"
    assert t("kpi.satisfaction_rate") == "Customer satisfaction"


def test_every_message_has_both_languages() -> None:
    for key, (en, zh) in MESSAGES.items():
        assert en.strip(), key
        assert zh.strip(), key


def test_unknown_key_shows_itself_so_review_catches_it() -> None:
    assert Translator.for_language("en")("no.such.key") == "no.such.key"


def test_catalog_names_come_in_the_page_language() -> None:
    zh, en = Translator.for_language("zh-CN"), Translator.for_language("en")
    assert zh.kind("air_conditioner") == "空调"
    assert en.kind("air_conditioner") == "air conditioner"
    assert zh.part("AC-FILTER") == "空调滤网"
    assert "滤网" in zh.fault_summary("AC_FILTER_CLOGGED")
    assert "filter" in en.fault_summary("AC_FILTER_CLOGGED")


@pytest.mark.parametrize(
    ("requested", "header", "expected"),
    [
        ("en", "zh-CN,zh;q=0.9", "en"),
        (None, "zh-TW,en;q=0.5", "zh-CN"),
        (None, "en-US,en;q=0.9", "en"),
        ("fr", None, "zh-CN"),
        (None, "de-DE", "zh-CN"),
    ],
)
def test_language_choice_beats_browser_preference(
    requested: str | None, header: str | None, expected: str
) -> None:
    assert negotiate_language(requested, header) == expected
