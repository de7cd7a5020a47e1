from pathlib import Path

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.api"]
if (Path(__file__).parent / "fixtures" / "chain.py").exists():
    pytest_plugins.append("tests.fixtures.chain")
