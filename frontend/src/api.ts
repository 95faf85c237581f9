import type { RuntimeConfig } from "./types";

/** Runtime config injected by the server's index shell (observatory/templates/index.html). */
export const config: RuntimeConfig = {
  vapidPublicKey: null,
  basePath: "",
  csrfToken: null,
  ...(typeof window !== "undefined" ? window.__OBSERVATORY__ : undefined),
};

export function url(path: string): string {
  return config.basePath + path;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A person-readable message for a failed request; the server's {"error"} text is kept. */
export function describeError(status: number, serverMessage: string | undefined): string {
  const detail = serverMessage ? ` (${serverMessage})` : "";
  if (status === 401)
    return `This device is not paired. Pair it from the computer running Observatory ("observatory pair")${detail}.`;
  if (status === 403) return `Not allowed${detail}.`;
  return serverMessage ?? `The server answered HTTP ${status}.`;
}

/** JSON request to the Observatory API; non-GET requests carry the CSRF token. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET" && config.csrfToken) headers["X-CSRF-Token"] = config.csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(url(path), {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "Cannot reach the Observatory server. Check the connection.");
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, describeError(res.status, data?.error));
  return data as T;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
