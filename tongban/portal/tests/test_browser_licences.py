"""Issue 5's acceptance walk in a real browser, on the demo city: 张伟 applies for 生育登记, whose
materials (居民身份证, 结婚证, 户籍信息) are all fetched with his consent; he uploads nothing, is
approved, finds the resulting licence in his wallet, opens its QR code's verification page, sees
the use record; an independent verifier checks the downloaded licence with the published keys.
Set ``TONGBAN_SHOTS_DIR`` to keep screenshots.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import segno

from tongban.cases.models import Case
from tongban.catalog.models import ServiceItemVersion
from tongban.licences.models import Licence, LicenceUse
from tongban.portal.tests.test_browser_cases import (  # noqa: F401 - the fixtures are used by name
    APPLICANT,
    Session,
    _fill_form,
    browser,
    demo,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]


def test_a_citizen_applies_with_nothing_to_upload_and_gets_a_verifiable_licence(
    live_server: Any,
    browser: Any,  # noqa: F811
    demo: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    base = live_server.url
    version = ServiceItemVersion.objects.select_related("item").get(name="生育登记", status="published")
    citizen = Session(browser, base, APPLICANT, demo[APPLICANT])
    clerk = Session(browser, base, "clerk", demo["clerk"])
    approver = Session(browser, base, "approver.wjw", demo["approver.wjw"])
    try:
        page = citizen.goto(f"/services/{version.item.implementation_code}/apply/")
        consent = page.inner_text("section.prefill-consent")
        assert "结婚证" in consent
        assert "户籍信息" in consent
        _fill_form(page, "main form.application")
        page.check("#id_prefill_consent")
        citizen.shot("l01-consent")
        page.click("button[name=action][value=prefill]")
        page.wait_for_url(re.compile(r"/my/cases/\d+/edit/$"))
        citizen.shot("l02-prefilled")
        assert page.locator(".provenance").count() == 3
        assert page.locator("input[type=file]").count() == 0  # nothing left to upload
        page.click("button[name=action][value=submit]")
        page.wait_for_url(re.compile(r"/my/cases/\d+/$"))
        case = Case.objects.get(version=version, applicant__resident_id=APPLICANT, status="submitted")
        assert {m.origin for m in case.materials.all()} == {"e_licence", "shared_data"}

        page = clerk.goto(f"/staff/cases/{case.pk}/")
        assert "签名验证通过" in page.inner_text("main")
        page.click("form[action$='/accept/'] button[type=submit]")
        page.wait_for_load_state()
        task = case.tasks.get(status="open")
        page = approver.goto(f"/staff/cases/{case.pk}/")
        approver.shot("l03-approver-provenance")
        page.click(f"form[action$='/tasks/{task.pk}/decide/'] button[value=approve]")
        page.wait_for_load_state()
        case.refresh_from_db()
        assert case.status == "result_ready"
        issued = Licence.objects.get(case_id=case.pk)

        # The licence is in the wallet; its QR code holds the verification page, which says valid.
        page = citizen.goto("/wallet/")
        page.click(f"main a[href='/wallet/{issued.pk}/']")
        citizen.shot("l04-wallet")
        link = page.get_attribute("a.verify-link", "href") or ""
        assert link.endswith(f"/licences/v/{issued.identifier}/")
        qr_svg = page.inner_html(".licence-qr")
        expected = segno.make_qr(link, error="m", boost_error=False).svg_inline(scale=4, border=4)
        # The modules drawn on the page are those of a QR code of the verification URL.
        assert re.findall(r' d="([^"]+)"', expected)[-1] in re.findall(r' d="([^"]+)"', qr_svg)
        page = citizen.goto(link.removeprefix("http://127.0.0.1:8000"))
        citizen.shot("l05-verified")
        assert "有效" in page.inner_text("main")

        # The marriage certificate used for the application shows that use, with the case number.
        marriage = Licence.objects.get(holder_id=APPLICANT, type__name="结婚证")
        page = citizen.goto(f"/wallet/{marriage.pk}/")
        assert case.number in page.inner_text("main")
        assert LicenceUse.objects.filter(licence=marriage, case_number=case.number).exists()

        # An independent verifier checks the downloaded file against the published keys.
        document = citizen.context.request.get(f"{base}/wallet/{issued.pk}/download/json/")
        assert document.status == 200
        (tmp_path / "licence.json").write_bytes(document.body())
        keys = citizen.context.request.get(f"{base}/licences/keys.json")
        (tmp_path / "keys.json").write_bytes(keys.body())
        script = [sys.executable, str(ROOT / "scripts" / "verify_licence.py")]
        ok = subprocess.run(  # noqa: S603 - our own script
            [*script, str(tmp_path / "licence.json"), "--keys", str(tmp_path / "keys.json")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ok.returncode == 0, ok.stdout + ok.stderr
        tampered = json.loads(document.body())
        tampered["licence"]["holder_name"] += "X"
        (tmp_path / "forged.json").write_text(json.dumps(tampered, ensure_ascii=False))
        bad = subprocess.run(  # noqa: S603
            [*script, str(tmp_path / "forged.json"), "--keys", str(tmp_path / "keys.json")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert bad.returncode == 1
    finally:
        citizen.close()
        clerk.close()
        approver.close()
