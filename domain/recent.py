"""`Recent`: what a process remembers of what it read, bounded, the least recently used
forgotten first (records, pages, documents, verified tokens)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping


class Recent[K, V]:
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def update(self, items: Mapping[K, V]) -> None:
        for key, value in items.items():
            self.put(key, value)

    def clear(self) -> None:
        self._items.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)
