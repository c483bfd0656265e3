"""pytest-livechat-token: a valid LiveChat OAuth bearer token for your tests."""

from __future__ import annotations

from .bearer import BearerToken, CustomerToken
from .errors import CacheWarning, RenewalWarning

__all__ = ["BearerToken", "CacheWarning", "CustomerToken", "RenewalWarning", "__version__"]
__version__ = "0.1.0"
