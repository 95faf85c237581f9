import { Suspense, lazy, useEffect, useRef } from "react";
import { Link } from "./components/Link";
import { liveStore, useLive } from "./live";
import { parseRoute, useLocation, type Route } from "./router";
import { needsYou } from "./status";
import type { LiveState } from "./store";
import { AlertsView } from "./views/AlertsView";
import { Approval } from "./views/Approval";
import { PairView } from "./views/PairView";
import { SessionView } from "./views/SessionView";
import { SessionsView } from "./views/SessionsView";
import { SettingsView } from "./views/SettingsView";

const CostsView = lazy(() => import("./views/CostsView"));

const TABS = [
  { to: "/", name: "sessions", label: "Sessions" },
  { to: "/alerts", name: "alerts", label: "Alerts" },
  { to: "/costs", name: "costs", label: "Costs" },
  { to: "/settings", name: "settings", label: "Settings" },
] as const;

const CONNECTION_TEXT = { open: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline" };

function Banner({ live }: { live: LiveState }) {
  if (live.connection === "offline")
    return (
      <p className="banner banner-offline" role="status">
        You are offline. Showing the last known sessions
        {live.savedAt ? ` (saved ${new Date(live.savedAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })})` : ""}.
      </p>
    );
  if (live.connection === "reconnecting")
    return (
      <p className="banner banner-warn" role="status">
        Connection to Observatory lost. Retrying{live.retryInMs ? ` in ${Math.ceil(live.retryInMs / 1000)} s` : ""}…
        {live.fromCache ? " Showing the last known sessions." : ""}
      </p>
    );
  return null;
}

function View({ route, live }: { route: Route; live: LiveState }) {
  switch (route.name) {
    case "sessions":
      return <SessionsView live={live} />;
    case "session":
      return (
        <>
          <Approval key={`approval-${route.id}`} sessionId={route.id} live={live} remember={liveStore.upsertApprovals} />
          <SessionView key={route.id} live={live} id={route.id} confirm={route.confirm} />
        </>
      );
    case "alerts":
      return <AlertsView live={live} />;
    case "settings":
      return <SettingsView />;
    case "costs":
      return (
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <CostsView />
        </Suspense>
      );
    case "pair":
      return <PairView code={route.code} />;
    case "missing":
      return (
        <section>
          <h1>Not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <Link to="/">Go to the sessions</Link>.
          </p>
        </section>
      );
  }
}

export function App() {
  const live = useLive();
  const loc = useLocation();
  const route = parseRoute(loc.path, loc.search);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  const needing = Object.values(live.sessions).filter(needsYou).length;
  const tab = route.name === "session" ? "sessions" : route.name;

  useEffect(() => {
    document.title = needing ? `(${needing}) Observatory` : "Observatory";
  }, [needing]);

  // After an in-app navigation, move focus to the new content (screen readers announce it).
  useEffect(() => {
    if (first.current) first.current = false;
    else main.current?.focus();
  }, [loc]);

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          Observatory
        </Link>
        {needing > 0 && (
          <Link to="/" className="needs" label={`${needing} ${needing === 1 ? "agent needs" : "agents need"} you`}>
            <span aria-hidden="true">{needing}</span>
            <span aria-hidden="true" className="needs-text">
              need{needing === 1 ? "s" : ""} you
            </span>
          </Link>
        )}
        <span className={`conn conn-${live.connection}`} role="status" aria-label={`Connection: ${CONNECTION_TEXT[live.connection]}`}>
          <span className="dot" aria-hidden="true" />
          {CONNECTION_TEXT[live.connection]}
        </span>
      </header>
      <nav className="tabs" aria-label="Main">
        {TABS.map((t) => (
          <Link key={t.to} to={t.to} current={tab === t.name} className="tab">
            {t.label}
            {t.name === "alerts" && live.alerts.some((a) => !a.acked_at) && (
              <span className="pip">
                <span className="visually-hidden"> (unacknowledged alerts)</span>
              </span>
            )}
          </Link>
        ))}
      </nav>
      {route.name !== "pair" && <Banner live={live} />}
      <main id="main" ref={main} tabIndex={-1}>
        <View route={route} live={live} />
      </main>
    </>
  );
}
