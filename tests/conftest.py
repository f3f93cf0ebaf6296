"""Shared pytest options for mlworkflow's tests."""


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False,
                     help="also run notebook cells marked `#| slow` (same as MLW_SLOW=1)")
