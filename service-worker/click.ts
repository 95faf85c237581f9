/** Where a notification click (or one of its action buttons) leads; pure so it can be tested. */

export interface NotificationData {
  url?: string;
  session_id?: string;
}

/** Kill and restart never act from the notification itself: they open the confirm step in the app. */
export const CONFIRM_ACTIONS = new Set(["kill", "restart"]);

export function resolveClickTarget(data: NotificationData | null | undefined, action: string, base: string): string {
  const fallback = data?.session_id ? `s/${encodeURIComponent(data.session_id)}` : "./";
  // Server URLs are app paths ("/s/<id>"); resolve them under the app's base path, same origin only.
  const path = (data?.url || fallback).replace(/^\/+/, "");
  const target = new URL(path, base);
  if (target.origin !== new URL(base).origin) return new URL("./", base).href;
  if (CONFIRM_ACTIONS.has(action)) target.searchParams.set("confirm", action);
  return target.href;
}
