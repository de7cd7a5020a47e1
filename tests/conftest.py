pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.api",
    "tests.fixtures.chain",
    "tests.fixtures.platform",
    "tests.fixtures.webhooks",
]
