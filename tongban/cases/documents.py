"""Written notices of a case as PDF: 受理通知书, 不予受理通知书, 一次性告知书 and 办结通知书.

Pure functions of a ``Notice`` (no models, no database): the caller gathers the facts, masks the
applicant's identifier and builds the progress URL; ``render_notice`` lays them out like a Chinese
government notice (issuing body as a red heading, title, number, addressee, body, date, issuing
department, a QR code to follow the case, a footer on every page) on A4.

The Chinese sentences below are document content with legal meaning (the wording of the
Administrative Licensing Law's notices and the standard remedies sentence), not interface text: a
notice reads the same whatever language the clerk's browser prefers, so they are literals here
rather than gettext messages.

Fonts: reportlab's built-in CID font ``STSong-Light`` (Adobe's Song typeface, which every PDF
reader provides), so no font file ships with the project. The QR code is drawn as vector squares
from segno's matrix, so no imaging library is needed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import segno
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, HRFlowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer

NoticeKind = Literal["acceptance", "refusal", "correction", "decision", "denial"]

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

TITLES: dict[str, str] = {
    "acceptance": "受理通知书",
    "refusal": "不予受理通知书",
    "correction": "一次性告知书",
    "decision": "办结通知书",
    "denial": "不予许可决定书",
}
# The remedies every adverse administrative decision must state (行政复议法 第二十条, 行政诉讼法 第四十六条).
REMEDIES = (
    "如对本决定不服，可以自收到本通知书之日起六十日内依法申请行政复议，"
    "或者自收到本通知书之日起六个月内依法向人民法院提起行政诉讼。"
)
QR_CAPTION = "扫码查询办理进度"
GOVERNMENT_RED = colors.HexColor("#C00000")


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind  # 受理通知书 / 不予受理通知书 / 一次性告知书 / 办结通知书
    case_number: str
    item_name: str
    department_name: str  # the deciding/accepting department
    applicant_name: str
    applicant_id_masked: str  # already masked by the caller
    issued_at: datetime
    progress_url: str  # absolute URL encoded in the QR code
    deadline: date | None = None  # acceptance: promised completion date
    reasons: str = ""  # refusal / decision opinion
    corrections: tuple[tuple[str, str], ...] = ()  # (what: material or form field, what to do)
    deferred_materials: tuple[str, ...] = ()  # 容缺: materials that may follow later, the date in ``lines``
    lines: tuple[str, ...] = ()  # any further paragraphs


# --- helpers -----------------------------------------------------------------------------------

_DIGITS = "〇一二三四五六七八九"


def _number(n: int) -> str:
    """1–31 in Chinese numerals as dates write them (十一, 二十二)."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


def chinese_date(day: date) -> str:
    """The date as an official document signs it: 二〇二六年十一月二十二日."""
    year = "".join(_DIGITS[int(d)] for d in str(day.year))
    return f"{year}年{_number(day.month)}月{_number(day.day)}日"


def _plain_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _local_date(moment: datetime) -> date:
    return (timezone.localtime(moment) if timezone.is_aware(moment) else moment).date()


def _escape(text: str) -> str:
    """Paragraph text is a small markup language: the facts must not be read as tags."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def qr_code(url: str) -> segno.QRCode:
    """The QR code printed on a notice: the progress URL, error correction level M."""
    return segno.make_qr(url, error="m", boost_error=False)


class QrFlowable(Flowable):
    """A QR code drawn as vector squares from segno's module matrix (with the 4-module quiet zone)."""

    def __init__(self, qr: segno.QRCode, size: float) -> None:
        super().__init__()
        self.qr = qr
        self.size = size
        self.width = self.height = size
        self.hAlign = "CENTER"  # above its centred caption

    def draw(self) -> None:
        rows = [list(row) for row in self.qr.matrix_iter(scale=1, border=4)]
        module = self.size / len(rows)
        canvas = self.canv
        canvas.setFillColor(colors.black)
        for y, row in enumerate(rows):
            for x, dark in enumerate(row):
                if dark:
                    canvas.rect(x * module, self.size - (y + 1) * module, module, module, stroke=0, fill=1)


# --- layout ------------------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=12, leading=21, wordWrap="CJK", alignment=TA_LEFT)
    return {
        "issuer": ParagraphStyle(
            "issuer", parent=base, fontSize=22, leading=30, alignment=TA_CENTER, textColor=GOVERNMENT_RED
        ),
        "title": ParagraphStyle("title", parent=base, fontSize=20, leading=28, alignment=TA_CENTER),
        "number": ParagraphStyle("number", parent=base, fontSize=11, alignment=TA_CENTER),
        "addressee": ParagraphStyle("addressee", parent=base, spaceBefore=6),
        "body": ParagraphStyle("body_indented", parent=base, firstLineIndent=24, spaceAfter=4),
        "item": ParagraphStyle("item", parent=base, leftIndent=24, firstLineIndent=0, spaceAfter=2),
        "sign": ParagraphStyle("sign", parent=base, alignment=TA_RIGHT),
        "caption": ParagraphStyle("caption", parent=base, fontSize=9, leading=12, alignment=TA_CENTER),
    }


def _body(notice: Notice) -> tuple[list[str], list[str], list[str]]:
    """The paragraphs before the numbered list, the list, and the paragraphs after it (plain text)."""
    application = f"你（单位）提交的《{notice.item_name}》申请（案件编号：{notice.case_number}）"
    if notice.kind == "acceptance":
        before = [f"{application}，经审查，符合受理条件，本机关决定予以受理。"]
        if notice.deferred_materials:
            before.append("以下材料本机关同意容缺受理，请在规定期限内补交，逾期未补交的将依法作出处理：")
        after = [f"承诺办结时限：{_plain_date(notice.deadline)}前。"] if notice.deadline else []
        return before, list(notice.deferred_materials), after
    if notice.kind == "refusal":
        after = [f"理由：{notice.reasons}"] if notice.reasons else []
        return [f"{application}，经审查，本机关决定不予受理。"], [], [*after, REMEDIES]
    if notice.kind == "correction":
        return (
            [
                f"{application}，经审查，申请材料不齐全或者不符合法定形式。根据《中华人民共和国"
                "行政许可法》第三十二条的规定，现一次性告知你（单位）需要补正的全部内容如下："
            ],
            [f"{what}：{todo}" for what, todo in notice.corrections],
            ["请按照上述要求一次性补正后重新提交。补正的申请材料齐全、符合法定形式的，本机关将予以受理。"],
        )
    if notice.kind == "denial":
        after = [f"理由：{notice.reasons}"] if notice.reasons else []
        return [f"{application}，经审查，本机关决定不予许可。"], [], [*after, REMEDIES]
    after = [f"办理意见：{notice.reasons}"] if notice.reasons else []
    return [f"{application}，本机关已依法办理完毕。"], [], [*after, "请按照告知的方式领取办理结果。"]


def _story(notice: Notice) -> list[Flowable]:
    st = _styles()
    story: list[Flowable] = [
        Paragraph(_escape(notice.department_name), st["issuer"]),
        HRFlowable(width="100%", thickness=1.5, color=GOVERNMENT_RED, spaceBefore=4, spaceAfter=14),
        Paragraph(TITLES[notice.kind], st["title"]),
        Paragraph(f"编号：{_escape(notice.case_number)}", st["number"]),
        Spacer(1, 10),
        Paragraph(
            f"{_escape(notice.applicant_name)}（证件号码：{_escape(notice.applicant_id_masked)}）：",
            st["addressee"],
        ),
    ]
    before, listed, after = _body(notice)
    story += [Paragraph(_escape(text), st["body"]) for text in before]
    story += [Paragraph(f"{n}. {_escape(text)}", st["item"]) for n, text in enumerate(listed, 1)]
    story += [Paragraph(_escape(text), st["body"]) for text in [*after, *notice.lines]]
    story.append(Paragraph("特此通知。", st["body"]))
    issued = _local_date(notice.issued_at)
    story.append(
        KeepTogether(
            [
                Spacer(1, 24),
                Paragraph(_escape(notice.department_name), st["sign"]),
                Paragraph(chinese_date(issued), st["sign"]),
                Spacer(1, 16),
                QrFlowable(qr_code(notice.progress_url), 32 * mm),
                Paragraph(QR_CAPTION, st["caption"]),
            ]
        )
    )
    return story


def _footer(notice: Notice) -> Any:
    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.grey)
        text = (
            f"{TITLES[notice.kind]} · 编号 {notice.case_number} · 第 {doc.page} 页 · "
            "本通知书由通办政务服务平台出具，可扫码核验"
        )
        canvas.drawCentredString(A4[0] / 2, 12 * mm, text)
        canvas.restoreState()

    return draw


def render_notice(notice: Notice) -> bytes:
    """One A4 PDF of the notice; long texts wrap (CJK rules) and flow onto further pages."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=26 * mm,
        rightMargin=26 * mm,
        topMargin=30 * mm,
        bottomMargin=25 * mm,
        title=f"{TITLES[notice.kind]} {notice.case_number}",
        author=notice.department_name,
        subject=notice.item_name,
        creator="Tongban",
        invariant=True,
    )
    footer = _footer(notice)
    doc.build(_story(notice), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
