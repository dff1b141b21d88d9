"""Log in with a resident ID, a credit code or a username, whichever the person types."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from tongban.core.idnumbers import normalize_credit_code, normalize_resident_id
from tongban.identity.models import User


def find_user_by_identifier(identifier: str) -> User | None:
    raw = (identifier or "").strip()
    if not raw:
        return None
    if len(raw) == 18:
        rid = normalize_resident_id(raw)
        user = User.objects.filter(resident_id=rid).first()
        if user is not None:
            return user
        user = User.objects.filter(credit_code=normalize_credit_code(raw)).first()
        if user is not None:
            return user
    return User.objects.filter(username=raw).first()


class IdentifierBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        """The session's user with its department in the same query (every staff page needs it)."""
        try:
            user = User._default_manager.select_related("department").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or password is None:
            return None
        user = find_user_by_identifier(username)
        if user is None:
            # Spend the same time as a real check so timing does not reveal which identifiers exist.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
