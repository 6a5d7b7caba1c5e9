from django.urls import path

from partners import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("trios/<slug:collaboratory>/<slug:slug>/", views.trio_detail, name="trio-detail"),
]
