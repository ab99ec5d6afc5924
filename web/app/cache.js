// Recent answers kept in memory for a few minutes, so going back to a feed, a board or a
// search shows it at once, scrolled where it was, without asking the server again.
const FRESH_MS = 5 * 60_000;
const MAX_ENTRIES = 40;
const entries = new Map(); // key -> {at, value}; Map order is age order

export function recall(key) {
  const entry = entries.get(key);
  if (!entry || Date.now() - entry.at > FRESH_MS) {
    entries.delete(key);
    return undefined;
  }
  return entry.value;
}

export function remember(key, value) {
  entries.delete(key);
  entries.set(key, { at: Date.now(), value });
  while (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value);
}

// After a write (save, follow, new pin), whatever showed the old state is dropped.
export function forgetAll() {
  entries.clear();
}
