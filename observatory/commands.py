"""Feature commands register here, so cli.py stays one list: import each feature's cli module."""
from observatory.control import cli as control_cli  # noqa: F401
from observatory.integrations import cli as integrations_cli  # noqa: F401
from observatory import remote_cli  # noqa: F401
from observatory.away import cli as away_cli  # noqa: F401
