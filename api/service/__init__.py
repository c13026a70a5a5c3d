"""The application layer: one function per use case, called by the CLI and the HTTP API.

Each module is one family of analyses. A service function takes layers (validated
GeoDataFrames in EPSG:3006, however the interface got them: a file, ``db:NAME`` or an
upload) and typed parameters (frozen dataclasses, hashable so the API can cache by
them), applies every check, calls :mod:`geo` and returns the result. The CLI
(:mod:`api.cli`) only parses options, calls it and prints; the HTTP routes
(:mod:`api.http.routes`) only parse the request, call it and serialise. A bad parameter
therefore gives the same message and the same refusal on both (``tests/test_service.py``).

Modules
-------
``errors``   :class:`ParameterError`, the error of a bad option or query parameter.
``common``   parsers and parameter types shared by several families: extent, levels,
             weights (severity, decay), incident filters.
``data``     validate a layer, store one, the datasets of a store.
``density``  density grid and hot spots, emerging hot spots, weekday × hour.
``cameras``  coverage polygons, site coverage, score-sites, select-sites.
``areas``    score-areas, propose-areas, the area report.
``exports``  HTML maps of stored layers.

Where a new analysis goes: ``docs/architecture.md``.
"""
