"""The security tests' world (one user per role, org A's objects) serves here too."""

from tests.security.conftest import world  # noqa: F401
