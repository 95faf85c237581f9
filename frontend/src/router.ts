import { useEffect, useState, type MouseEvent } from "react";
import { config } from "./api";

/** Tiny history-API router: paths are app paths ("/s/abc"), the base path is added and removed here. */

const NAVIGATE = "observatory:navigate";

export type Route =
  | { name: "sessions" }
  | { name: "session"; id: string; confirm: string | null }
  | { name: "alerts" }
  | { name: "settings" }
  | { name: "costs" }
  | { name: "pair"; code: string | null }
  | { name: "missing"; path: string };

export function parseRoute(path: string, search = ""): Route {
  const m = /^\/s\/([^/]+)\/?$/.exec(path);
  if (m) return { name: "session", id: decodeURIComponent(m[1]), confirm: new URLSearchParams(search).get("confirm") };
  switch (path.replace(/\/$/, "") || "/") {
    case "/":
      return { name: "sessions" };
    case "/alerts":
      return { name: "alerts" };
    case "/settings":
      return { name: "settings" };
    case "/costs":
      return { name: "costs" };
    case "/pair":
      return { name: "pair", code: new URLSearchParams(search).get("code") };
    default:
      return { name: "missing", path };
  }
}

function currentLocation(): { path: string; search: string } {
  const p = location.pathname;
  const path = config.basePath && p.startsWith(config.basePath) ? p.slice(config.basePath.length) || "/" : p;
  return { path, search: location.search };
}

export function navigate(to: string): void {
  history.pushState(null, "", config.basePath + to);
  dispatchEvent(new Event(NAVIGATE));
}

/** Click handler for in-app links: plain left clicks navigate without a reload. */
export function onLinkClick(to: string) {
  return (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
}

export function useLocation(): { path: string; search: string } {
  const [loc, setLoc] = useState(currentLocation);
  useEffect(() => {
    const update = () => {
      setLoc(currentLocation());
      scrollTo(0, 0);
    };
    addEventListener("popstate", update);
    addEventListener(NAVIGATE, update);
    return () => {
      removeEventListener("popstate", update);
      removeEventListener(NAVIGATE, update);
    };
  }, []);
  return loc;
}
