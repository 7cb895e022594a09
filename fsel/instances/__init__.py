"""Row (instance) selection: GAIS and its graph builders."""

from fsel.instances._gais import GAISampler

__all__ = ["GAISampler"]
