"""Administrators' pages for staff, roles and departments, under /staff/people/ and /staff/departments/.

Every staff member is looked up through ``selectors.staff_visible_to``: someone outside the
administrator's jurisdiction does not exist for these pages (404).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from tongban.core.errors import DomainError
from tongban.core.forms import DomainForm
from tongban.identity import selectors, services
from tongban.identity.choices import Role
from tongban.identity.decorators import staff_required
from tongban.identity.models import Department, User
from tongban.identity.selectors import portal_user

PAGE_SIZE = 50


class RolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Role.choices, label=gettext_lazy("Roles"), **kwargs)


class StaffFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Name or username"), required=False, max_length=50)
    department = forms.ModelChoiceField(
        label=gettext_lazy("Department"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=gettext_lazy("All departments"),
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        required=False,
        choices=[("", gettext_lazy("All roles")), *Role.choices],
    )
    active = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[
            ("", gettext_lazy("All")),
            ("1", gettext_lazy("Active")),
            ("0", gettext_lazy("Deactivated")),
        ],
    )

    def __init__(self, *args: Any, admin: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = selectors.departments_in_jurisdiction(admin)  # type: ignore[attr-defined]


class StaffCreateForm(DomainForm):
    username = forms.CharField(
        label=gettext_lazy("Username"),
        max_length=32,
        help_text=gettext_lazy(
            "3 to 32 lower-case letters, digits, dots, dashes or underscores; used to log in."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=50)
    department = forms.ModelChoiceField(label=gettext_lazy("Department"), queryset=Department.objects.none())
    roles = RolesField(required=False)
    phone = forms.CharField(
        label=gettext_lazy("Mobile phone"),
        max_length=11,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=gettext_lazy("Initial password"),
        help_text=gettext_lazy(
            "Give it to the person in private; they should change it after the first login."
        ),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=gettext_lazy("Initial password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, admin: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = selectors.departments_in_jurisdiction(admin)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_confirm"):
            self.add_error("password_confirm", _("The two passwords do not match."))
        return data


class StaffRolesForm(DomainForm):
    roles = RolesField(required=False)


def _visible_member(admin: User, pk: int) -> User:
    return get_object_or_404(selectors.staff_visible_to(admin), pk=pk)


@staff_required(Role.ADMINISTRATOR)
def staff_list(request: HttpRequest) -> HttpResponse:
    admin = portal_user(request)
    form = StaffFilterForm(request.GET or None, admin=admin)
    filters: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    department = filters.get("department")
    active = filters.get("active") or ""
    members = selectors.staff_search(
        admin,
        q=filters.get("q") or "",
        department_id=department.pk if department else None,
        role=filters.get("role") or "",
        active=None if active == "" else active == "1",
    )
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "identity/staff/list.html", {"form": form, "page": page})


@staff_required(Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
def staff_create(request: HttpRequest) -> HttpResponse:
    admin = portal_user(request)
    form = StaffCreateForm(request.POST or None, admin=admin)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                member = services.staff_create(
                    username=data["username"],
                    name=data["name"],
                    department=data["department"],
                    roles=data["roles"],
                    password=data["password"],
                    phone=data["phone"],
                    by=admin,
                )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(
                    request, _("The staff account %(username)s is ready.") % {"username": member.username}
                )
                return redirect("identity:staff_detail", pk=member.pk)
        else:
            status = 400
    return render(request, "identity/staff/create.html", {"form": form}, status=status)


def _detail(
    request: HttpRequest, member: User, *, roles_form: StaffRolesForm | None = None, status: int = 200
) -> HttpResponse:
    held = sorted(r.role for r in member.role_assignments.all())
    context = {
        "member": member,
        "held_roles": [Role(r).label for r in held],
        "roles_form": roles_form or StaffRolesForm(initial={"roles": held}),
        "has_second_factor": selectors.has_confirmed_totp_device(member),
        "is_self": member.pk == request.user.pk,
    }
    return render(request, "identity/staff/detail.html", context, status=status)


@staff_required(Role.ADMINISTRATOR)
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = _visible_member(portal_user(request), pk)
    return _detail(request, member)


@staff_required(Role.ADMINISTRATOR)
@require_POST
def staff_roles(request: HttpRequest, pk: int) -> HttpResponse:
    admin = portal_user(request)
    member = _visible_member(admin, pk)
    form = StaffRolesForm(request.POST)
    if not form.is_valid():
        return _detail(request, member, roles_form=form, status=400)
    try:
        services.staff_roles_set(user=member, roles=form.cleaned_data["roles"], by=admin)
    except DomainError as exc:
        form.add_domain_error(exc)
        return _detail(request, member, roles_form=form, status=exc.status)
    messages.success(request, _("The roles have been saved."))
    return redirect("identity:staff_detail", pk=member.pk)


@staff_required(Role.ADMINISTRATOR)
@require_POST
def staff_active(request: HttpRequest, pk: int) -> HttpResponse:
    admin = portal_user(request)
    member = _visible_member(admin, pk)
    active = request.POST.get("active") == "1"
    try:
        services.staff_active_set(user=member, active=active, by=admin)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return _detail(request, member, status=exc.status)
    if active:
        messages.success(request, _("The account is active again."))
    else:
        messages.success(request, _("The account is deactivated; the person can no longer log in."))
    return redirect("identity:staff_detail", pk=member.pk)


@staff_required(Role.ADMINISTRATOR)
@require_POST
def staff_otp_reset(request: HttpRequest, pk: int) -> HttpResponse:
    admin = portal_user(request)
    member = _visible_member(admin, pk)
    try:
        services.totp_reset(user=member, by=admin)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return _detail(request, member, status=exc.status)
    messages.success(
        request, _("The second factor has been reset; the person sets up a new one at the next login.")
    )
    return redirect("identity:staff_detail", pk=member.pk)


@staff_required(Role.ADMINISTRATOR)
def department_list(request: HttpRequest) -> HttpResponse:
    tree = selectors.department_tree(portal_user(request))
    return render(request, "identity/staff/departments.html", {"tree": tree})
