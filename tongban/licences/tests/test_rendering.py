"""The licence PDF: what it says (read back out of the PDF's text), its QR code, the watermark and
the stamp of a revoked or expired licence; and the pieces the wallet page shares with it."""

from __future__ import annotations

import base64
import datetime as dt
import re
import zlib
from typing import Any

import pytest
import segno
from django.utils import timezone, translation

from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, make_resident_id
from tongban.licences import rendering, selectors, services
from tongban.licences.choices import HolderKind, LicenceOrigin, UseKind, Validity
from tongban.licences.models import Licence, LicenceType
from tongban.licences.tests.staff_world import (
    ENTERPRISE_FIELDS,
    credit_code,
    department,
    issue,
    licence_type,
    staff,
)

pytestmark = pytest.mark.django_db

WATERMARK_ZH = "此件由{issuer}提供，仅供办理政务服务事项时使用，有效期至{until}"


# --- reading a reportlab PDF back -----------------------------------------------------------------


def _literal(raw: bytes) -> bytes:
    """A PDF literal string's bytes (its backslash escapes undone)."""
    out = bytearray()
    i = 0
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
    while i < len(raw):
        c = raw[i : i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        nxt = raw[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8))
            i += 1 + len(octal.group())
        else:
            out += escapes.get(nxt, nxt)
            i += 2
    return bytes(out)


def pdf_text(pdf: bytes) -> list[str]:
    """Every string the PDF shows, in order, decoded by its font (the CID font's strings are UCS-2)."""
    cid_fonts = {
        m.group(1).decode()
        for obj in re.findall(rb"\d+ 0 obj(.*?)endobj", pdf, re.S)
        if b"/Type0" in obj
        for m in [re.search(rb"/Name /(F\d+)", obj)]
        if m
    }
    texts: list[str] = []
    for raw in re.findall(
        rb"/Filter \[ /ASCII85Decode /FlateDecode \][^>]*>>\s*stream\r?\n(.*?)endstream", pdf, re.S
    ):
        body = raw.strip()
        body = body[:-2] if body.endswith(b"~>") else body
        content = zlib.decompress(base64.a85decode(body))
        font = ""
        for m in re.finditer(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
            if m.group(1):
                font = m.group(1).decode()
                continue
            data = _literal(m.group(2))
            texts.append(data.decode("utf-16-be") if font in cid_fonts else data.decode("latin-1"))
    return texts


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


# --- licences -------------------------------------------------------------------------------------


@pytest.fixture
def mzj(db: None) -> Department:
    mzj = department("rd-mzj", "六安市民政局")
    services.signing_key_rotate(department=mzj, by=None)
    return mzj


@pytest.fixture
def approver(mzj: Department) -> User:
    return staff(mzj, "approver", name="民政审批")


@pytest.fixture
def marriage(mzj: Department) -> LicenceType:
    return licence_type(mzj)


@pytest.fixture
def dated(mzj: Department) -> LicenceType:
    """A type whose licences end on a date given at issue."""
    return licence_type(mzj, name="离婚证", validity=Validity.GIVEN, serial=2)


@pytest.fixture
def licence(marriage: LicenceType, approver: User) -> Licence:
    return issue(marriage, approver, name="张三")


def past_licence(type_: LicenceType, *, until: dt.date) -> Licence:
    holder = make_resident_id()
    new = services.prepare(
        type_=type_,
        holder_id=holder,
        holder_name="王五",
        data={"name": "王五", "id_number": holder, "spouse_name": "赵六", "registry": "六安市民政局"},
        issued_on=until - dt.timedelta(days=400),
        valid_until=until,
    )
    services.issue_prepared_batch([new], type_=type_, batch=None, origin=LicenceOrigin.IMPORTED)
    return Licence.objects.select_related("type", "issuer", "key").get(holder_id=holder)


# --- the PDF --------------------------------------------------------------------------------------


def test_the_pdf_carries_the_title_data_identifier_key_and_verification_address(licence: Licence) -> None:
    pdf = rendering.licence_pdf(licence)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    joined = "\n".join(text)
    assert "结婚证" in text  # the type's template title
    assert licence.identifier in text  # on one line, as plain text
    assert licence.key.key_id in text
    for shown in ("李四", "六安市民政局", "配偶姓名", "登记机关"):  # the data, with the type's labels
        assert shown in text
    assert licence.number in text
    assert "长期" in joined  # a long-term licence
    assert selectors.verification_url(licence.identifier) in "".join(text)  # wrapped over two lines


def test_the_watermark_is_the_issues_sentence_repeated_on_the_page(
    licence: Licence, dated: LicenceType
) -> None:
    text = pdf_text(rendering.licence_pdf(licence))
    mark = WATERMARK_ZH.format(issuer="六安市民政局", until="长期")
    assert text.count(mark) >= 10  # tiled diagonally over the whole page
    until = timezone.localdate() + dt.timedelta(days=30)
    ending = past_licence(dated, until=until)
    with translation.override("zh-hans"):
        assert rendering.watermark_text(ending) == WATERMARK_ZH.format(
            issuer="六安市民政局", until=until.isoformat()
        )


def test_the_pdf_is_chinese_whatever_the_browser_asked_for(licence: Licence) -> None:
    with translation.override("en"):
        text = pdf_text(rendering.licence_pdf(licence))
        assert translation.get_language() == "en"  # the caller's language is left as it was
    assert WATERMARK_ZH.format(issuer="六安市民政局", until="长期") in text
    assert "This copy is provided by" not in "".join(text)


def test_the_qr_code_holds_the_verification_page(licence: Licence) -> None:
    url = selectors.verification_url(licence.identifier)
    assert url.endswith(f"/licences/v/{licence.identifier}/")
    code = rendering.qr(licence)
    assert code.matrix == segno.make_qr(url, error="m", boost_error=False).matrix
    assert code.matrix != segno.make_qr(licence.identifier, error="m", boost_error=False).matrix


def test_a_valid_licence_has_no_stamp(licence: Licence) -> None:
    text = pdf_text(rendering.licence_pdf(licence))
    assert "已撤销" not in text
    assert "已过期" not in text


def test_a_revoked_licence_is_stamped_with_the_date(licence: Licence, approver: User) -> None:
    services.licence_revoke(licence=licence, reason="登记错误", by=approver)
    licence = Licence.objects.select_related("type", "issuer", "key").get(pk=licence.pk)
    text = pdf_text(rendering.licence_pdf(licence))
    assert "已撤销" in text
    assert timezone.localdate(licence.revoked_at).isoformat() in text


def test_an_expired_licence_is_stamped_even_before_the_nightly_job(dated: LicenceType) -> None:
    until = timezone.localdate() - dt.timedelta(days=1)
    expired = past_licence(dated, until=until)
    assert expired.status == "valid"  # not yet marked
    text = pdf_text(rendering.licence_pdf(expired))
    assert "已过期" in text
    assert WATERMARK_ZH.format(issuer="六安市民政局", until=until.isoformat()) in text
    assert until.isoformat() in text  # the stamp's date, in Latin type


def test_markup_in_the_data_is_printed_as_text(mzj: Department, approver: User) -> None:
    type_ = licence_type(
        mzj, name="测试证", serial=7, fields=[{"key": "note", "label": "备注", "required": True}]
    )
    holder = make_resident_id()
    odd = issue(type_, approver, holder_id=holder, data={"note": "<b>甲&乙</b> <font size=40>"})
    text = pdf_text(rendering.licence_pdf(odd))
    assert any("<b>甲&乙</b>" in t for t in text)


def test_a_long_licence_goes_on_over_pages_each_watermarked(mzj: Department, approver: User) -> None:
    fields = [{"key": f"f{n}", "label": f"事项{n}", "required": True} for n in range(24)]
    type_ = licence_type(mzj, name="长证照", serial=8, fields=fields)
    data = {f"f{n}": "很长的内容" * 30 for n in range(24)}
    long = issue(type_, approver, holder_id=make_resident_id(), data=data)
    pdf = rendering.licence_pdf(long)
    assert pages(pdf) >= 2
    text = pdf_text(pdf)
    assert text.count(long.identifier) == 1
    mark = WATERMARK_ZH.format(issuer="六安市民政局", until="长期")
    assert text.count(mark) >= 20


def test_a_malformed_colour_falls_back_to_the_default(licence: Licence, marriage: LicenceType) -> None:
    marriage.template = {"title": "结婚证", "colour": "red; x"}
    marriage.save(update_fields=["template"])
    licence.refresh_from_db()
    assert rendering.colour_of(licence) == rendering.DEFAULT_COLOUR
    assert rendering.licence_pdf(licence).startswith(b"%PDF")


# --- what the wallet shares -------------------------------------------------------------------------


def test_data_rows_follow_the_types_order_and_labels(licence: Licence) -> None:
    licence.data = {"registry": "六安市民政局", "name": "张三", "extra": "旧字段"}
    assert rendering.data_rows(licence) == [
        ("姓名", "张三"),
        ("登记机关", "六安市民政局"),
        ("extra", "旧字段"),
    ]


def test_the_holder_is_not_repeated_when_the_data_names_them(licence: Licence, mzj: Department) -> None:
    assert rendering.holder_rows(licence) == []  # the marriage certificate's data has both
    scj = department("rd-scj", "六安市市场监督管理局")
    services.signing_key_rotate(department=scj, by=None)
    food = licence_type(
        scj,
        name="食品经营许可证",
        holder=HolderKind.ENTERPRISE,
        fields=ENTERPRISE_FIELDS,
        validity=Validity.GIVEN,
    )
    code = credit_code("91")
    new = services.prepare(
        type_=food,
        holder_id=code,
        holder_name="六安市某某茶业有限公司",
        data={"name": "六安市某某茶业有限公司", "credit_code": code, "address": "金安区"},
        valid_until=timezone.localdate() + dt.timedelta(days=365),
    )
    services.issue_prepared_batch([new], type_=food, batch=None, origin=LicenceOrigin.IMPORTED)
    held = Licence.objects.select_related("type", "issuer", "key").get(holder_id=code)
    held.data = {"address": "金安区"}
    with translation.override("en"):
        assert [label for label, _value in rendering.holder_rows(held)] == [
            "Holder",
            "Unified social credit code",
        ]


def test_who_used_it_as_the_holder_sees_it(licence: Licence, approver: User) -> None:
    holder: Any = CitizenFactory(resident_id=licence.holder_id, name=licence.holder_name)
    _auth, code = services.authorisation_for_third_party(
        licence=licence, grantee_name="中国银行", purpose="开户", days=3, by=holder
    )
    services.licence_read_by_third_party(code=code, viewer_label="柜台三号")
    review = services.use_record(licence=licence, kind=UseKind.CASE_REVIEW, by=approver, case_number="X1")
    services.licence_download(licence=licence, by=holder, fmt="pdf")
    parties = {u.kind: rendering.use_party(u) for u in selectors.uses_of(licence)}
    assert parties[UseKind.THIRD_PARTY_VIEW] == ("中国银行", "柜台三号")
    assert parties[UseKind.CASE_REVIEW] == ("六安市民政局", "")  # the department, not the officer
    assert review.actor_label == "民政审批"
    with translation.override("en"):
        (download,) = [u for u in selectors.uses_of(licence) if u.kind == UseKind.DOWNLOAD]
        assert rendering.use_party(download) == ("You", "")
