"""Which sources the company delivers, for the reports: a dashboard section or workbook sheet
built on a source the company does not have (``sources: {stock: {delivered: false}}`` in
company.yml, or a column no layout fills) says "No data delivered" instead of showing an empty
table or failing. Read from the company's configuration when the report is built (the same one
the run that published the serving database used)."""

from __future__ import annotations


def undelivered() -> frozenset[str]:
    """Source names and ``source.column`` names the company does not deliver (dbt's var
    ``undelivered``)."""
    from pipelines.ingest.config import load_sources, undelivered as names

    return frozenset(names(load_sources()))


def missing(needs: tuple[str, ...] | list[str], gone: frozenset[str] | None = None) -> list[str]:
    """The names of ``needs`` (sources, or ``source.column``) that are not delivered; a column
    counts as missing when its whole source is, and is then named by its source."""
    gone = undelivered() if gone is None else gone
    out: list[str] = []
    for name in needs:
        source = name.split(".")[0]
        shown = source if source in gone else (name if name in gone else None)
        if shown and shown not in out:
            out.append(shown)
    return out
