"""How a licence is shown to its holder: as a PDF (its title and colour, its data, the QR code of
its verification page, the signing key, a stamp when it is revoked or expired, the watermark over
every page), and what the wallet page shares with it (the data under the type's labels, the
validity, who used it).

The PDF is a document the holder hands to a government service, so it is always rendered in the
site's language (Chinese), whatever the browser asked for: the watermark "此件由××提供，仅供办理政务
服务事项时使用，有效期至…" required by issue 5 is the translation of ``watermark_text``'s message.

Drawn with reportlab's built-in ``STSong-Light`` CID font (no font files, as the case notices in
``cases.documents``); the identifier, key id and address are set in Helvetica so that they can be
copied out of the PDF as plain text. The QR code is vector squares from segno's module matrix.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any
from xml.sax.saxutils import escape

import segno
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from tongban.licences import selectors
from tongban.licences.choices import HolderKind, LicenceStatus, UseKind
from tongban.licences.models import Licence, LicenceUse

FONT = "STSong-Light"
LATIN = "Helvetica"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

DEFAULT_COLOUR = "#b22222"
STAMP_RED = colors.HexColor("#c00000")
_HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")

PAGE_WIDTH, PAGE_HEIGHT = A4
BORDER = 12 * mm  # the coloured frame
MARGIN = 22 * mm  # the text
BAND = 32 * mm  # the title band below the frame's top
QR_SIZE = 40 * mm


# --- what the licence says, shared with the wallet page -----------------------------------------


def colour_of(licence: Licence) -> str:
    """The type's colour (``template.colour``), or the default when it is missing or malformed."""
    colour = str(licence.type.template.get("colour") or "")
    return colour if _HEX_COLOUR.match(colour) else DEFAULT_COLOUR


def title_of(licence: Licence) -> str:
    return str(licence.type.template.get("title") or licence.type.name)


def data_rows(licence: Licence) -> list[tuple[str, str]]:
    """The licence's data as (label, value), in the type's field order with the type's labels; a
    value under a key the type no longer lists comes last, under its key."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for spec in licence.type.fields:
        key = str(spec["key"])
        seen.add(key)
        if key in licence.data and str(licence.data[key]).strip():
            rows.append((str(spec.get("label") or key), str(licence.data[key])))
    rows += [(str(k), str(v)) for k, v in licence.data.items() if str(k) not in seen and str(v).strip()]
    return rows


def holder_id_label(licence: Licence) -> str:
    if licence.holder_kind == HolderKind.ENTERPRISE:
        return pgettext("licence holder", "Unified social credit code")
    return pgettext("licence holder", "Resident ID number")


def holder_rows(licence: Licence) -> list[tuple[str, str]]:
    """The holder's name and ID number (or credit code), unless the licence's data already says them."""
    shown = {value for _label, value in data_rows(licence)}
    rows = [
        (pgettext("licence holder", "Holder"), licence.holder_name),
        (holder_id_label(licence), licence.holder_id),
    ]
    return [(label, value) for label, value in rows if value not in shown]


def until_text(licence: Licence) -> str:
    return licence.valid_until.isoformat() if licence.valid_until else _("long-term")


def validity_text(licence: Licence) -> str:
    return pgettext("licence validity", "%(start)s to %(end)s") % {
        "start": licence.valid_from.isoformat(),
        "end": until_text(licence),
    }


def status_label(state: str) -> str:
    """有效 / 已撤销 / 已过期: the words the verification page says (``views_public``)."""
    labels = {
        LicenceStatus.VALID: pgettext("licence verdict", "Valid"),
        LicenceStatus.REVOKED: pgettext("licence verdict", "Revoked"),
        LicenceStatus.EXPIRED: pgettext("licence verdict", "Expired"),
    }
    return labels[LicenceStatus(state)]


def watermark_text(licence: Licence) -> str:
    return _("This copy is provided by %(issuer)s for government services only; valid until %(until)s") % {
        "issuer": licence.issuer.name,
        "until": until_text(licence),
    }


def qr(licence: Licence) -> segno.QRCode:
    """The QR code of the licence: its public verification page."""
    return segno.make_qr(selectors.verification_url(licence.identifier), error="m", boost_error=False)


# --- the PDF ------------------------------------------------------------------------------------


class QrFlowable(Flowable):
    """A QR code drawn as vector squares from segno's module matrix (with the 4-module quiet zone)."""

    def __init__(self, code: segno.QRCode, size: float) -> None:
        super().__init__()
        self.code = code
        self.width = self.height = size

    def draw(self) -> None:
        rows = [list(row) for row in self.code.matrix_iter(scale=1, border=4)]
        module = self.width / len(rows)
        self.canv.setFillColor(colors.black)
        for r, row in enumerate(rows):
            for c, dark in enumerate(row):
                if dark:
                    self.canv.rect(
                        c * module, self.height - (r + 1) * module, module, module, stroke=0, fill=1
                    )


def _text(value: str) -> str:
    """Paragraph text is a small markup language: data must not be read as tags."""
    return escape(value).replace("\n", "<br/>")


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=12, leading=17, wordWrap="CJK")
    return {
        "label": ParagraphStyle(
            "label", parent=base, fontSize=10, leading=15, textColor=colors.HexColor("#555555")
        ),
        "value": base,
        "latin": ParagraphStyle(
            "latin", parent=base, fontName=LATIN, fontSize=9.5, leading=13, wordWrap=None
        ),
        "small": ParagraphStyle("small", parent=base, fontSize=9, leading=13),
        "url": ParagraphStyle("url", parent=base, fontName=LATIN, fontSize=8, leading=11, wordWrap=None),
    }


def _facts(licence: Licence, st: dict[str, ParagraphStyle]) -> Table:
    rows = [
        *holder_rows(licence),
        *data_rows(licence),
        (_("Licence number"), licence.number),
        (_("Issued by"), licence.issuer.name),
        (_("Issued on"), licence.issued_on.isoformat()),
        (pgettext("licence validity", "Validity"), validity_text(licence)),
    ]
    table = Table(
        [
            [Paragraph(_text(label), st["label"]), Paragraph(_text(value), st["value"])]
            for label, value in rows
        ],
        colWidths=[42 * mm, PAGE_WIDTH - 2 * MARGIN - 42 * mm],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d0d0d0")),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
            ]
        )
    )
    return table


def _verification(licence: Licence, st: dict[str, ParagraphStyle]) -> Flowable:
    """The identifier on its own line (it is long), then the key and the address beside the QR code."""
    url = selectors.verification_url(licence.identifier)
    identifier = [
        Paragraph(_text(_("Licence identifier (GB/T 36904):")), st["small"]),
        Paragraph(_text(licence.identifier), st["latin"]),
    ]
    left = [
        Paragraph(_text(pgettext("licence PDF", "Signed with the issuer's key (Ed25519):")), st["small"]),
        Paragraph(_text(licence.key.key_id), st["latin"]),
        Spacer(1, 3 * mm),
        Paragraph(
            _text(
                _("Scan the QR code, or open this address, to check that the licence is genuine and valid:")
            ),
            st["small"],
        ),
        Paragraph(_text(url), st["url"]),
    ]
    table = Table(
        [[identifier, ""], [left, QrFlowable(qr(licence), QR_SIZE)]],
        colWidths=[PAGE_WIDTH - 2 * MARGIN - QR_SIZE - 4 * mm, QR_SIZE + 4 * mm],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("SPAN", (0, 0), (1, 0)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEABOVE", (0, 0), (-1, 0), 0.75, colors.HexColor("#999999")),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
            ]
        )
    )
    return KeepTogether([Spacer(1, 8 * mm), table])


class _Page:
    """What every page carries: the frame and title band (before the text), the state stamp and the
    watermark (after it, so that nothing covers them)."""

    def __init__(self, licence: Licence) -> None:
        self.licence = licence
        self.colour = colors.HexColor(colour_of(licence))
        self.title = title_of(licence)
        self.subtitle = str(licence.type.template.get("subtitle") or "") or _("Electronic licence")
        self.state = selectors.effective_status(licence)
        self.mark = watermark_text(licence)

    def begin(self, canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setStrokeColor(self.colour)
        canvas.setLineWidth(2.5)
        canvas.rect(BORDER, BORDER, PAGE_WIDTH - 2 * BORDER, PAGE_HEIGHT - 2 * BORDER)
        top = PAGE_HEIGHT - BORDER
        canvas.setFillColor(self.colour)
        canvas.rect(BORDER, top - BAND, PAGE_WIDTH - 2 * BORDER, BAND, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        size = 26 if pdfmetrics.stringWidth(self.title, FONT, 26) < PAGE_WIDTH - 2 * MARGIN else 18
        canvas.setFont(FONT, size)
        canvas.drawCentredString(PAGE_WIDTH / 2, top - BAND / 2, self.title)
        canvas.setFont(FONT, 10)
        canvas.drawCentredString(PAGE_WIDTH / 2, top - BAND + 6 * mm, self.subtitle)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.setFont(FONT, 8)
        canvas.drawString(MARGIN, BORDER + 4 * mm, self.licence.issuer.name)
        canvas.drawRightString(PAGE_WIDTH - MARGIN, BORDER + 4 * mm, str(doc.page))
        canvas.restoreState()

    def end(self, canvas: Canvas, doc: Any) -> None:
        if self.state != LicenceStatus.VALID:
            self._stamp(canvas)
        self._watermark(canvas)

    def _stamp(self, canvas: Canvas) -> None:
        """已撤销 / 已过期 across the data, in red, with the date it happened."""
        word = status_label(self.state)
        if self.state == LicenceStatus.REVOKED and self.licence.revoked_at:
            when = timezone.localdate(self.licence.revoked_at).isoformat()
        else:
            when = self.licence.valid_until.isoformat() if self.licence.valid_until else ""
        canvas.saveState()
        canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2 + 30 * mm)
        canvas.rotate(18)
        canvas.setStrokeColor(STAMP_RED, alpha=0.85)
        canvas.setFillColor(STAMP_RED, alpha=0.85)
        canvas.setLineWidth(4)
        width = pdfmetrics.stringWidth(word, FONT, 54) + 24 * mm
        canvas.roundRect(-width / 2, -16 * mm, width, 40 * mm, 6 * mm, stroke=1, fill=0)
        canvas.setFont(FONT, 54)
        canvas.drawCentredString(0, 0, word)
        if when:
            canvas.setFont(LATIN, 14)
            canvas.drawCentredString(0, -11 * mm, when)
        canvas.restoreState()

    def _watermark(self, canvas: Canvas) -> None:
        """The sentence, diagonal and repeated over the whole page."""
        size = 10
        step_x = pdfmetrics.stringWidth(self.mark, FONT, size) + 18 * mm
        step_y = 26 * mm
        reach = math.hypot(PAGE_WIDTH, PAGE_HEIGHT) / 2
        canvas.saveState()
        canvas.setFillColor(colors.Color(0.45, 0.45, 0.45, alpha=0.2))
        canvas.setFont(FONT, size)
        canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
        canvas.rotate(32)
        rows = math.ceil(reach / step_y)
        for row in range(-rows, rows + 1):
            x = -reach - (row % 2) * step_x / 2
            while x < reach:
                canvas.drawString(x, row * step_y, self.mark)
                x += step_x
        canvas.restoreState()


def licence_pdf(licence: Licence) -> bytes:
    """The licence as a PDF (A4), in the site's language: the document, not the interface."""
    with translation.override(settings.LANGUAGE_CODE):
        return _render(licence)


def _render(licence: Licence) -> bytes:
    buffer = io.BytesIO()
    page = _Page(licence)
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{licence.type.name} {licence.identifier}",
        author=licence.issuer.name,
        subject=selectors.verification_url(licence.identifier),
        creator="Tongban",
    )
    frame = Frame(
        MARGIN,
        BORDER + 10 * mm,
        PAGE_WIDTH - 2 * MARGIN,
        PAGE_HEIGHT - 2 * BORDER - BAND - 18 * mm,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates([PageTemplate(id="licence", frames=[frame], onPage=page.begin, onPageEnd=page.end)])
    st = _styles()
    doc.build([Spacer(1, 4 * mm), _facts(licence, st), _verification(licence, st)])
    return buffer.getvalue()


# --- a use, as the holder's record shows it ---------------------------------------------------


def use_party(use: LicenceUse) -> tuple[str, str]:
    """(who used the licence, a note) as the holder sees it: a department by its name, a third party
    by the name the holder gave it (and the name its viewer typed, when different), the holder's own
    downloads as "you". Staff members' own names are not shown: the department answers for them."""
    if use.kind == UseKind.DOWNLOAD:
        return pgettext("licence use by", "You"), ""
    if use.kind == UseKind.THIRD_PARTY_VIEW:
        name = use.authorisation.grantee_name if use.authorisation else use.actor_label
        return name, use.actor_label if use.actor_label and use.actor_label != name else ""
    if use.department is not None:
        system = use.kind in (UseKind.EXCHANGE_FETCH, UseKind.EXCHANGE_VERIFY)
        return use.department.name, use.actor_label if system else ""
    return use.actor_label, ""
