// The unread count: fetched on sign-in and after every (re)connection, then pushed by the
// notificationAdded subscription. Pages that mark notifications read call `refreshUnread`.
import { useEffect, useState } from "preact/hooks";
import { gql } from "./api.js";
import { forgetAll } from "./cache.js";
import { subscribe } from "./live.js";

const unread = { count: 0, listeners: new Set(), refresh: async () => {} };

export function useUnreadCount(session) {
  const [count, setCount] = useState(0);
  useEffect(() => {
    unread.listeners.add(setCount);
    return () => unread.listeners.delete(setCount);
  }, []);
  useEffect(() => {
    if (!session) {
      setCount(0);
      return undefined;
    }
    unread.refresh = async () => {
      try {
        const data = await gql(`query Unread { me { unreadNotificationCount } }`);
        unread.count = data.me?.unreadNotificationCount ?? 0;
        for (const listener of unread.listeners) listener(unread.count);
      } catch {
        // The badge is a hint; the notifications page shows errors.
      }
    };
    return subscribe(`subscription Live { notificationAdded { id kind read } }`, {
      onConnected: () => {
        document.documentElement.dataset.live = "connected"; // for tests and curious people
        unread.refresh();
      },
      onDisconnected: () => {
        document.documentElement.dataset.live = "offline";
      },
      onData: () => {
        forgetAll();
        unread.refresh();
      },
    });
  }, [session?.user?.id]);
  return count;
}

export function refreshUnread() {
  return unread.refresh();
}
