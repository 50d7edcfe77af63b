"""Create the tables and the first superuser before the server starts: ``python -m fullstack_pattern_app.initial_data``.

The template runs the same step from its prestart script, after its migrations.
"""

from __future__ import annotations

from sqlmodel import Session

from .db import engine, init_db


def main() -> None:
    with Session(engine) as session:
        init_db(session)
    engine.dispose()


if __name__ == "__main__":
    main()
