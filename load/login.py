"""Users logging in again and again through the profile's JSON login (a profile with users)."""

from harness.load import hooks  # noqa: F401 - plan at init, SLO exit code at quit
from harness.load.users import LoginUser
from harness.load.weights import weight


class Login(LoginUser):
    weight = weight("login")
    abstract = weight == 0
