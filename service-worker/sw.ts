/// <reference lib="webworker" />
/**
 * Observatory service worker (built by vite-plugin-pwa, injectManifest mode).
 * - precaches the hashed app assets, icons and manifest;
 * - navigations: network first, the last good shell answers when offline;
 * - push → one notification per session (tag), deep link in data.url;
 * - notificationclick → focus an open window and navigate it, else open one;
 * - pushsubscriptionchange → subscribe again and register the new subscription.
 */
import { clientsClaim } from "workbox-core";
import { cleanupOutdatedCaches, precacheAndRoute } from "workbox-precaching";
import { registerRoute } from "workbox-routing";
import { base64UrlToBytes } from "../frontend/src/b64";
import { CONFIRM_ACTIONS, resolveClickTarget, type NotificationData } from "./click";

declare const self: ServiceWorkerGlobalScope & {
  __WB_MANIFEST: Array<{ url: string; revision: string | null }>;
  resolveClickTarget: typeof resolveClickTarget;
};

const BASE = new URL("./", self.location.href).href; // the app root: where sw.js is served
const SHELL_CACHE = "observatory-shell";
const RUNTIME_CACHE = "observatory-runtime";

self.skipWaiting();
clientsClaim();
cleanupOutdatedCaches();
precacheAndRoute(self.__WB_MANIFEST);

// The index shell is rendered per request (runtime config), so it is not precached with the
// assets: it is fetched once at install, and every successful navigation refreshes the copy
// that answers when offline.
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((c) => c.add(BASE)));
});

registerRoute(
  ({ request }) => request.mode === "navigate",
  async ({ request }) => {
    const cache = await caches.open(SHELL_CACHE);
    try {
      const res = await fetch(request);
      if (res.ok) await cache.put(BASE, res.clone());
      return res;
    } catch (e) {
      const cached = await cache.match(BASE);
      if (cached) return cached;
      throw e;
    }
  },
);

interface PushPayload {
  title?: string;
  body?: string;
  url?: string;
  tag?: string;
  kind?: string;
  session_id?: string;
  actions?: Array<{ action: string; title: string }>;
}

function notificationActions(p: PushPayload): Array<{ action: string; title: string }> {
  const allowed = (p.actions ?? []).filter((a) => a.action === "open" || CONFIRM_ACTIONS.has(a.action));
  return (allowed.length ? allowed : [{ action: "open", title: "Open" }]).slice(0, 2);
}

self.addEventListener("push", (event) => {
  let p: PushPayload;
  try {
    p = event.data?.json() ?? {};
  } catch {
    p = { body: event.data?.text() };
  }
  const data: NotificationData & { kind?: string } = { url: p.url, session_id: p.session_id, kind: p.kind };
  const options: NotificationOptions & { renotify?: boolean; actions?: unknown } = {
    body: p.body ?? "",
    tag: p.tag ?? (p.session_id ? `session-${p.session_id}` : "observatory"),
    renotify: true,
    data,
    icon: new URL("icons/icon-192.png", BASE).href,
    badge: new URL("icons/badge-96.png", BASE).href,
    actions: notificationActions(p),
  };
  event.waitUntil(self.registration.showNotification(p.title ?? "Observatory", options));
});

self.resolveClickTarget = resolveClickTarget;

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = resolveClickTarget(event.notification.data, event.action, BASE);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const client = windows.find((c) => c.url.startsWith(BASE)) ?? null;
      if (client) {
        await client.focus();
        await client.navigate(url);
      } else {
        await self.clients.openWindow(url);
      }
    })(),
  );
});

async function runtimeConfig(): Promise<{ csrfToken?: string | null; vapidPublicKey?: string | null }> {
  const res = await (await caches.open(RUNTIME_CACHE)).match(new URL("__runtime-config", BASE).href);
  return res ? res.json() : {};
}

interface ChangeEvent extends ExtendableEvent {
  oldSubscription: PushSubscription | null;
  newSubscription: PushSubscription | null;
}

self.addEventListener("pushsubscriptionchange", (event) => {
  const e = event as ChangeEvent;
  e.waitUntil(
    (async () => {
      const cfg = await runtimeConfig();
      const headers = { "Content-Type": "application/json", ...(cfg.csrfToken ? { "X-CSRF-Token": cfg.csrfToken } : {}) };
      const post = (path: string, method: string, body: unknown) =>
        fetch(new URL(path, BASE), { method, headers, credentials: "same-origin", body: JSON.stringify(body) });
      let sub = e.newSubscription;
      if (!sub) {
        const key =
          e.oldSubscription?.options.applicationServerKey ??
          base64UrlToBytes(cfg.vapidPublicKey ?? (await (await fetch(new URL("api/push/key", BASE))).json()).public_key);
        sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
      }
      const settings = await fetch(new URL("api/settings/alerts", BASE)).then((r) => (r.ok ? r.json() : null));
      const kinds = settings ? Object.keys(settings.kinds).filter((k) => settings.kinds[k]) : undefined;
      await post("api/push/subscriptions", "POST", { ...sub.toJSON(), kinds });
      if (e.oldSubscription) await post("api/push/subscriptions", "DELETE", { endpoint: e.oldSubscription.endpoint });
    })(),
  );
});
