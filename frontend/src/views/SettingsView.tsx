import { useEffect, useState } from "react";
import { api, errorText } from "../api";
import { AwaySwitch } from "../components/AwaySwitch";
import { Feedback } from "../components/Feedback";
import { useApi } from "../hooks";
import { currentSubscription, pushSupport, subscribePush, unsubscribePush } from "../push";
import { alertKindLabel } from "./AlertsView";
import { DevicesSection } from "./DevicesSection";

interface AlertSettings {
  kinds: Record<string, boolean>;
  thresholds: Record<string, unknown>;
}

const SUPPORT_TEXT = {
  "needs-home-screen":
    "On iPhone and iPad, notifications work only for the installed app: tap Share → Add to Home Screen, then open Observatory from its icon.",
  insecure: "Notifications need a secure origin (https, or localhost).",
  unsupported: "This browser does not support Web Push notifications.",
};

function Notifications({ kinds }: { kinds: string[] }) {
  const support = pushSupport();
  const [sub, setSub] = useState<PushSubscription | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    currentSubscription().then(setSub, () => setSub(null));
  }, []);

  async function act(work: () => Promise<string>) {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      setMessage(await work());
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  if (support !== "ok") return <p className="note">{SUPPORT_TEXT[support]}</p>;
  return (
    <>
      <p>
        Permission: <strong>{Notification.permission}</strong> · This device is{" "}
        <strong>{sub ? "subscribed" : "not subscribed"}</strong>.
      </p>
      <div className="button-row">
        {sub ? (
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              act(async () => {
                await unsubscribePush(sub);
                setSub(null);
                return "Notifications turned off for this device.";
              })
            }
          >
            Turn off notifications
          </button>
        ) : (
          <button
            type="button"
            className="primary"
            disabled={busy}
            onClick={() =>
              act(async () => {
                setSub(await subscribePush(kinds));
                return "Notifications are on for this device.";
              })
            }
          >
            Turn on notifications
          </button>
        )}
        <button
          type="button"
          disabled={busy || !sub}
          onClick={() =>
            act(async () => {
              await api("POST", "/api/push/test");
              return "Test notification sent.";
            })
          }
        >
          Send test notification
        </button>
      </div>
      <Feedback message={message} error={error} />
    </>
  );
}

function AlertKinds({ settings, onSaved }: { settings: AlertSettings; onSaved: (s: AlertSettings) => void }) {
  const [error, setError] = useState<string | null>(null);
  async function toggle(kind: string, on: boolean) {
    const next = { ...settings, kinds: { ...settings.kinds, [kind]: on } };
    setError(null);
    onSaved(next); // show the change at once; put it back if the server refuses
    try {
      await api("PUT", "/api/settings/alerts", next);
    } catch (e) {
      onSaved(settings);
      setError(errorText(e));
    }
  }
  return (
    <fieldset className="kinds">
      <legend>Alert me about</legend>
      {Object.entries(settings.kinds).map(([kind, on]) => (
        <label key={kind} className="switch">
          <input type="checkbox" checked={on} onChange={(e) => void toggle(kind, e.target.checked)} />
          {alertKindLabel(kind)}
        </label>
      ))}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </fieldset>
  );
}

export function SettingsView() {
  const fetched = useApi<AlertSettings>("/api/settings/alerts");
  const [saved, setSaved] = useState<AlertSettings | null>(null);
  const settings = saved ?? fetched.data;
  const enabled = settings ? Object.keys(settings.kinds).filter((k) => settings.kinds[k]) : [];
  return (
    <section aria-labelledby="settings-h">
      <h1 id="settings-h">Settings</h1>
      <h2 className="section-title">Notifications</h2>
      <Notifications kinds={enabled} />
      <h2 className="section-title">Alerts</h2>
      {fetched.error && (
        <p role="alert" className="error">
          {fetched.error}
        </p>
      )}
      {settings ? <AlertKinds settings={settings} onSaved={setSaved} /> : fetched.loading && <p className="muted">Loading…</p>}
      <h2 className="section-title">Away mode</h2>
      <AwaySwitch />
      <h2 className="section-title">Devices</h2>
      <DevicesSection />
    </section>
  );
}
