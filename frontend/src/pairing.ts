/**
 * Pairing this browser with the server: the one-time code a person types or a QR link carries,
 * the name the device gets in Settings, and the exchange POST /api/pair {code, name}.
 * The server keeps the rules (observatory/auth/devices.py); this only helps people type.
 */
import { url } from "./api";

const CODE_LENGTH = 8;
/** The server's alphabet: no 0/O and no 1/I, so nothing read off a screen can be mistaken. */
const CODE_ALPHABET = /^[2-9A-HJ-NP-Z]+$/;

/** What a person typed or pasted ("abcd efgh", "ABCD-EFGH", the whole pairing link) → "ABCDEFGH". */
export function normaliseCode(text: string): string {
  const fromLink = /[?&]code=([^&#\s]+)/.exec(text);
  const raw = fromLink ? decodeURIComponent(fromLink[1]) : text;
  return raw
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, "")
    .slice(0, CODE_LENGTH);
}

/** "ABCDEFGH" → "ABCD-EFGH", the way `observatory pair` prints it (partial codes as typed). */
export function displayCode(code: string): string {
  return code.length > 4 ? `${code.slice(0, 4)}-${code.slice(4)}` : code;
}

/** Why a normalised code cannot be right yet, or null when it can be sent. */
export function codeProblem(code: string): string | null {
  if (code.length === 0) return "Type the code that the computer shows.";
  if (!CODE_ALPHABET.test(code)) return "Codes never contain 0, O, 1 or I: check the characters.";
  if (code.length < CODE_LENGTH) return `The code has ${CODE_LENGTH} characters; ${CODE_LENGTH - code.length} missing.`;
  return null;
}

/**
 * The server's QR (segno's inline SVG, made for pasting into HTML) as an <img> source: an image
 * needs the SVG namespace, and a viewBox so it scales to the size the page gives it.
 */
export function qrImageUrl(svg: string): string {
  const size = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  const attrs = [
    svg.includes("xmlns=") ? "" : ' xmlns="http://www.w3.org/2000/svg"',
    size && !svg.includes("viewBox=") ? ` viewBox="0 0 ${size[1]} ${size[2]}"` : "",
  ].join("");
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg.replace("<svg", "<svg" + attrs))}`;
}

/** A name for the Devices list that says which device this is, from the browser's user agent. */
export function defaultDeviceName(userAgent: string, maxTouchPoints = 0): string {
  if (/iPhone/.test(userAgent)) return "iPhone";
  // iPadOS asks for desktop sites: it says "Macintosh" but has a touch screen.
  if (/iPad/.test(userAgent) || (/Macintosh/.test(userAgent) && maxTouchPoints > 1)) return "iPad";
  if (/Android/.test(userAgent)) return /Mobile/.test(userAgent) ? "Android phone" : "Android tablet";
  if (/CrOS/.test(userAgent)) return "Chromebook";
  if (/Macintosh|Mac OS X/.test(userAgent)) return "Mac";
  if (/Windows/.test(userAgent)) return "Windows PC";
  if (/Linux/.test(userAgent)) return "Linux computer";
  return "Browser";
}

/** "45 s", "4 min 10 s": how long to wait before trying again. */
export function waitText(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const rest = s % 60;
  return `${Math.floor(s / 60)} min${rest ? ` ${rest} s` : ""}`;
}

/** What to tell the person when the server refused the code; the server's own reason is kept. */
export function pairingErrorText(status: number, serverError: string | null, retryAfterS: number | null): string {
  if (status === 0) return "Cannot reach the Observatory server. Check the connection and try again.";
  if (status === 429)
    return `Too many wrong codes were tried from this network. Wait ${waitText(retryAfterS ?? 60)}, then try again.`;
  if (serverError) return `Pairing failed: ${serverError}.`;
  return `Pairing failed: the server answered HTTP ${status}.`;
}

export interface PairedDevice {
  id: string;
  name: string;
}

export type PairingOutcome =
  | { ok: true; device: PairedDevice }
  | { ok: false; status: number; error: string; retryAfterS: number | null };

/**
 * Trade the code for this browser's device cookie (set by the answer, HttpOnly). The answer's
 * CSRF token is not kept here: the caller reloads the app, and the server puts this device's
 * token in the page it renders, so every later request and the service worker agree on it.
 */
export async function pairDevice(code: string, name: string): Promise<PairingOutcome> {
  let res: Response;
  try {
    res = await fetch(url("/api/pair"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ code, name }),
    });
  } catch {
    return { ok: false, status: 0, error: pairingErrorText(0, null, null), retryAfterS: null };
  }
  const data = await res.json().catch(() => null);
  if (res.status === 201 && data?.device) return { ok: true, device: data.device };
  const retry = Number(res.headers.get("Retry-After"));
  const retryAfterS = res.status === 429 && retry > 0 ? retry : null;
  return { ok: false, status: res.status, error: pairingErrorText(res.status, data?.error ?? null, retryAfterS), retryAfterS };
}
