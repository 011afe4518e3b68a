from tests.security.conftest import app_with  # noqa: F401 - a TestClient with settings overridden
