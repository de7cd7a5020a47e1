from tests.subscription.conftest import clock, gateway, world

__all__ = ["clock", "gateway", "world"]
