from __future__ import annotations

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from media_sync import views, webhooks

admin.site.site_header = "media-sync"
admin.site.site_title = "media-sync"
admin.site.index_title = "Photos and attachments across providers"
# The audit and job tables want the width; the index and the breadcrumbs lead everywhere the sidebar did.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("webhooks/corrigopro/", webhooks.corrigopro, name="webhook-corrigopro"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("media-links/<int:pk>/<str:name>", views.media_link, name="media-link"),
]
