"""Storage of named, versioned layers: embedded GeoPackage (default) or PostGIS.

>>> from api.settings import Settings
>>> open_store(Settings(data_dir="/tmp/tk-doc", database_url=None)).backend
'gpkg'
"""

from __future__ import annotations

from api.settings import Settings, get_settings
from api.storage.base import (
    NAME_PATTERN,
    DatasetInfo,
    StorageError,
    Store,
    validate_name,
)

__all__ = [
    "NAME_PATTERN",
    "DatasetInfo",
    "StorageError",
    "Store",
    "open_store",
    "validate_name",
]


def open_store(settings: Settings | None = None) -> Store:
    """The configured store: PostGIS when ``database_url`` is set, else GeoPackage.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to :func:`api.settings.get_settings` (the environment, read now).

    Returns
    -------
    Store
        A :class:`~api.storage.postgis.PostGISStore` or a
        :class:`~api.storage.gpkg.GeoPackageStore` on ``settings.data_dir``.
    """
    settings = settings or get_settings()
    if settings.database_url:
        from api.storage.postgis import PostGISStore

        return PostGISStore(settings.database_url)
    from api.storage.gpkg import GeoPackageStore

    store = GeoPackageStore(settings.data_dir)
    store.recover()  # the temporary files of a killed load go at the next start
    return store
