"""The baseline for bench/delivery.py: a bare Litestar hello-world, served the same way as photoshare."""

from litestar import Litestar, get


@get("/", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


app = Litestar(route_handlers=[hello])
