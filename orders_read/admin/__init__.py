"""The staff console: read models, order actions, projections and the overview."""

from django.contrib import admin

from . import orders, projections, read_models  # noqa: F401  (they register their admins)

# A documented AdminSite hook: the index gains links to the overview and the console.
admin.site.index_template = "admin/ordinal/index.html"
admin.site.site_header = "Ordinal staff console"
admin.site.site_title = "Ordinal admin"
# "View site" opens the browsable API: the site has no other public pages.
admin.site.site_url = "/api/"
