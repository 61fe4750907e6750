from tests.orgs.conftest import people  # noqa: F401  (the access-matrix fixture)
