"""Several workers starting at once on a fresh SQLite file must all come up (gunicorn starts two or more)."""

from concurrent.futures import ProcessPoolExecutor

from cds_hooks.storage import Store


def _open(url: str) -> bool:
    return Store(url).ping()


def test_workers_starting_together_on_a_fresh_database_all_get_the_schema(tmp_path):
    url = f"sqlite:///{tmp_path}/fresh.sqlite3"
    with ProcessPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(_open, [url] * 12))
    assert results == [True] * 12
