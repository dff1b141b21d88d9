from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BasedataConfig(AppConfig):
    name = "tongban.basedata"
    label = "basedata"
    verbose_name = _("Base databases")
