from django.urls import path

app_name = "rooms"
urlpatterns: list = []
