"""Logged-in users calling the API's read operations (needs a profile with users)."""

from harness.load import hooks  # noqa: F401 - plan at init, SLO exit code at quit
from harness.load.users import ApiUser
from harness.load.weights import weight


class ApiMix(ApiUser):
    weight = weight("api")
    abstract = weight == 0
