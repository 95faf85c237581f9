import { useEffect, useSyncExternalStore } from "react";
import { api, config } from "./api";
import { createLiveStore, type LiveState } from "./store";

function liveUrl(): string {
  const u = new URL(config.basePath + "/api/live", location.href);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.href;
}

/** The application's single live store (WebSocket-fed). */
export const liveStore = createLiveStore({
  url: liveUrl(),
  WebSocket,
  getJson: (path) => api("GET", path),
  storage: localStorage,
  online: {
    isOnline: () => navigator.onLine,
    subscribe(onChange) {
      addEventListener("online", onChange);
      addEventListener("offline", onChange);
      return () => {
        removeEventListener("online", onChange);
        removeEventListener("offline", onChange);
      };
    },
  },
});

export function useLive(): LiveState {
  return useSyncExternalStore(liveStore.subscribe, liveStore.getSnapshot);
}

/** Keep a session's timeline loaded and live while the calling component is mounted. */
export function useWatch(sessionId: string): void {
  useEffect(() => liveStore.watch(sessionId), [sessionId]);
}
