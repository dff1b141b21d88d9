"""A licence as a PDF: its fields, the QR code of its verification page and the watermark.

Drawn with reportlab's built-in ``STSong-Light`` CID font (no font files, as the case notices) and
segno's module matrix for the QR code. The watermark says who provided the copy and that it is for
government services only, until when (the issue's wording).
"""

from __future__ import annotations

import io

import segno
from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from tongban.licences import selectors
from tongban.licences.choices import LicenceStatus
from tongban.licences.models import Licence

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def watermark_text(licence: Licence) -> str:
    until = licence.valid_until.isoformat() if licence.valid_until else _("long-term")
    return _("This copy is provided by %(issuer)s for government services only; valid until %(until)s") % {
        "issuer": licence.issuer.name,
        "until": until,
    }


def qr(licence: Licence) -> segno.QRCode:
    return segno.make_qr(selectors.verification_url(licence.identifier), error="m", boost_error=False)


def _draw_qr(canvas: Canvas, code: segno.QRCode, x: float, y: float, size: float) -> None:
    rows = [list(row) for row in code.matrix_iter(scale=1, border=4)]
    module = size / len(rows)
    canvas.setFillColor(colors.black)
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                canvas.rect(x + c * module, y + size - (r + 1) * module, module, module, stroke=0, fill=1)


def licence_pdf(licence: Licence) -> bytes:
    """The licence on one A4 page, in the site's language (Chinese by default)."""
    with translation.override(translation.get_language() or "zh-hans"):
        return _render(licence)


def _render(licence: Licence) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    width, height = A4
    colour = colors.HexColor(str(licence.type.template.get("colour") or "#b22222"))
    canvas.setTitle(f"{licence.type.name} {licence.identifier}")
    canvas.setAuthor(licence.issuer.name)
    canvas.setSubject(selectors.verification_url(licence.identifier))
    # Frame and title.
    canvas.setStrokeColor(colour)
    canvas.setLineWidth(3)
    canvas.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)
    canvas.setFillColor(colour)
    canvas.setFont(FONT, 26)
    canvas.drawCentredString(
        width / 2, height - 40 * mm, str(licence.type.template.get("title") or licence.type.name)
    )
    canvas.setFont(FONT, 10)
    canvas.setFillColor(colors.black)
    canvas.drawCentredString(width / 2, height - 48 * mm, _("Electronic licence"))
    # Fields.
    labels = {str(f["key"]): str(f.get("label", f["key"])) for f in licence.type.fields}
    lines = [(labels.get(k, k), str(v)) for k, v in licence.data.items()]
    until = licence.valid_until.isoformat() if licence.valid_until else _("long-term")
    lines += [
        (_("Licence number"), licence.number),
        (_("Issued by"), licence.issuer.name),
        (_("Issued on"), licence.issued_on.isoformat()),
        (_("Valid"), f"{licence.valid_from.isoformat()} — {until}"),
    ]
    y = height - 65 * mm
    for label, value in lines:
        canvas.setFont(FONT, 11)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(25 * mm, y, label)
        canvas.setFillColor(colors.black)
        canvas.setFont(FONT, 12)
        text = value if len(value) <= 60 else value[:59] + "…"
        canvas.drawString(70 * mm, y, text)
        y -= 9 * mm
    # QR code and identifier.
    _draw_qr(canvas, qr(licence), width - 70 * mm, 30 * mm, 45 * mm)
    canvas.setFont(FONT, 8)
    canvas.drawString(25 * mm, 45 * mm, _("Licence identifier (GB/T 36904):"))
    canvas.drawString(25 * mm, 40 * mm, licence.identifier)
    canvas.drawString(25 * mm, 33 * mm, _("Signed by %(key)s (Ed25519)") % {"key": licence.key.key_id})
    canvas.drawString(
        25 * mm,
        28 * mm,
        _("Scan the code or open %(url)s to verify")
        % {"url": selectors.verification_url(licence.identifier)},
    )
    # State stamp.
    state = selectors.effective_status(licence)
    if state != LicenceStatus.VALID:
        canvas.saveState()
        canvas.setFillColor(colors.HexColor("#c00000"))
        canvas.setFont(FONT, 48)
        canvas.translate(width / 2, height / 2 + 40 * mm)
        canvas.rotate(15)
        canvas.drawCentredString(0, 0, _("Revoked") if state == LicenceStatus.REVOKED else _("Expired"))
        canvas.restoreState()
    # Watermark, diagonal and repeated.
    canvas.saveState()
    canvas.setFillColor(colors.Color(0.6, 0.6, 0.6, alpha=0.25))
    canvas.setFont(FONT, 11)
    mark = watermark_text(licence)
    canvas.rotate(30)
    for row in range(-6, 16):
        canvas.drawString(-40 * mm + (row % 2) * 40 * mm, row * 28 * mm, mark)
    canvas.restoreState()
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
