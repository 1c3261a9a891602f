from ninja import NinjaAPI

api = NinjaAPI(title="Flint API", version="1")
