import { api, config } from "./api";
import { base64UrlToBytes } from "./b64";

/** Web Push subscription management for the settings screen. */

export type PushSupport = "ok" | "needs-home-screen" | "insecure" | "unsupported";

export function pushSupport(): PushSupport {
  if (!isSecureContext) return "insecure";
  if ("serviceWorker" in navigator && "PushManager" in window && "Notification" in window) return "ok";
  const standalone = (navigator as Navigator & { standalone?: boolean }).standalone;
  if (/iPhone|iPad|iPod/.test(navigator.userAgent) && !standalone) return "needs-home-screen";
  return "unsupported";
}

function sameKey(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

export async function currentSubscription(): Promise<PushSubscription | null> {
  if (pushSupport() !== "ok") return null;
  const reg = await navigator.serviceWorker.ready;
  return reg.pushManager.getSubscription();
}

/** Ask permission, subscribe with the server's VAPID key and register the subscription. */
export async function subscribePush(kinds: string[]): Promise<PushSubscription> {
  const permission = await Notification.requestPermission();
  if (permission !== "granted")
    throw new Error(
      permission === "denied"
        ? "Notifications are blocked for this site. Allow them in the browser's site settings, then try again."
        : "Notification permission was not granted.",
    );
  const reg = await navigator.serviceWorker.ready;
  const key = base64UrlToBytes(config.vapidPublicKey ?? (await api<{ public_key: string }>("GET", "/api/push/key")).public_key);
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameKey(sub.options.applicationServerKey, key)) {
    await sub.unsubscribe();
    sub = null;
  }
  sub ??= await withTimeout(
    reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
    20_000,
    "The browser's push service did not answer. Check the connection and try again.",
  );
  await api("POST", "/api/push/subscriptions", { ...sub.toJSON(), kinds });
  return sub;
}

export async function unsubscribePush(sub: PushSubscription): Promise<void> {
  await api("DELETE", "/api/push/subscriptions", { endpoint: sub.endpoint });
  await sub.unsubscribe();
}
