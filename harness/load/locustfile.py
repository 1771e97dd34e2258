"""The ``load/`` journeys in one file, for installs without the checkout (the wheel):
``harness load`` uses the checkout's ``load/`` folder when there is one, else this file."""

from harness.load import hooks  # noqa: F401 - plan at init, SLO exit code at quit
from harness.load.users import ApiUser, BrowseUser, LoginUser
from harness.load.weights import weight


class Browse(BrowseUser):
    weight = weight("browse")
    abstract = weight == 0


class ApiMix(ApiUser):
    weight = weight("api")
    abstract = weight == 0


class Login(LoginUser):
    weight = weight("login")
    abstract = weight == 0
