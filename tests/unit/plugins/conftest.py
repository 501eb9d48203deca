"""The collection's plugins import by their collection names here
(``ansible_collections.zkops.zookeeper34.plugins.*``): the checkout's .collections/ first on
sys.path."""

import sys

from plugins import COLLECTIONS

if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
