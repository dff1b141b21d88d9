from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResourcesConfig(AppConfig):
    name = "tongban.resources"
    label = "resources"
    verbose_name = _("Data resource catalogue")
