"""PDF notices: every kind renders, the QR code carries the progress URL, long lists flow on."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
import segno

from tongban.cases.documents import Notice, chinese_date, qr_code, render_notice

URL = "https://tongban.example.gov.cn/cases/progress/LA2026112200017?t=9f3a"


def _notice(kind: str, **fields: object) -> Notice:
    base = Notice(
        kind="acceptance",
        case_number="LA-2026-1122-00017",
        item_name="食品经营许可",
        department_name="六安市市场监督管理局",
        applicant_name="六安市皖西小吃店",
        applicant_id_masked="9134****0X",
        issued_at=datetime(2026, 11, 22, 2, 30, tzinfo=UTC),
        progress_url=URL,
    )
    return replace(base, kind=kind, **fields)  # type: ignore[arg-type]


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


@pytest.mark.parametrize(
    "notice",
    [
        _notice("acceptance", deadline=date(2026, 12, 4), deferred_materials=("健康证明",)),
        _notice("refusal", reasons="申请事项依法不属于本机关职权范围。"),
        _notice("correction", corrections=(("营业执照", "请上传加盖公章的复印件"),)),
        _notice("decision", reasons="准予许可。", lines=("请于五个工作日内到窗口领取许可证。",)),
        _notice("denial", reasons="申请人不具备法定条件。"),
    ],
    ids=lambda n: n.kind,
)
def test_each_kind_renders_one_a4_page(notice: Notice) -> None:
    pdf = render_notice(notice)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert _pages(pdf) == 1
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf  # A4
    assert b"/STSong-Light" in pdf  # the built-in CID font, no font file embedded


def test_rendering_is_deterministic() -> None:
    notice = _notice("refusal", reasons="不符合受理条件。")
    assert render_notice(notice) == render_notice(notice)


def test_the_qr_code_encodes_the_progress_url() -> None:
    qr = qr_code(URL)
    assert qr.mode == "byte"
    assert qr.error == "M"
    # Same symbol as segno builds for exactly that text; a different URL gives another one.
    assert list(qr.matrix) == list(segno.make_qr(URL, error="m", boost_error=False).matrix)
    assert list(qr.matrix) != list(qr_code(URL + "x").matrix)


def test_a_very_long_correction_list_flows_onto_further_pages() -> None:
    corrections = tuple(
        (
            f"第{n}项材料《建设工程规划许可证附图》",
            "附图比例尺与现场测绘成果不一致，" * 6 + "请重新出具并加盖公章。",
        )
        for n in range(1, 61)
    )
    pdf = render_notice(_notice("correction", corrections=corrections))
    assert pdf.startswith(b"%PDF-")
    assert _pages(pdf) >= 2


def test_long_unbroken_chinese_text_wraps_instead_of_overflowing() -> None:
    # 2,000 characters without a space: only CJK wrapping can break it into lines.
    pdf = render_notice(_notice("refusal", reasons="申请人提交的材料与原件不符" * 160))
    assert _pages(pdf) >= 2


def test_markup_in_facts_is_printed_not_interpreted() -> None:
    pdf = render_notice(_notice("decision", item_name="<b>测试</b> & 事项", reasons="<font size=80>x</font>"))
    assert pdf.startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 11, 22), "二〇二六年十一月二十二日"),
        (date(2027, 1, 10), "二〇二七年一月十日"),
        (date(2030, 10, 31), "二〇三〇年十月三十一日"),
    ],
)
def test_chinese_date(day: date, text: str) -> None:
    assert chinese_date(day) == text
