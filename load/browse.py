"""Read-heavy browsing, anonymous: `locust -f load/ --host URL` (see docs/load.md)."""

from harness.load import hooks  # noqa: F401 - plan at init, SLO exit code at quit
from harness.load.users import BrowseUser
from harness.load.weights import weight


class Browse(BrowseUser):
    weight = weight("browse")
    abstract = weight == 0
