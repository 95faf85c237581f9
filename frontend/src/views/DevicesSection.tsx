import { useCallback, useEffect, useState } from "react";
import { ApiError, api, config, errorText } from "../api";
import { Dialog } from "../components/Dialog";
import { Feedback } from "../components/Feedback";
import { Link } from "../components/Link";
import { PairPhone } from "../components/PairPhone";
import { ago } from "../format";
import { useNow } from "../hooks";
import "./pairing.css";

/** A paired browser as GET /api/devices lists it. */
interface Device {
  id: string;
  name: string;
  kind: "device" | "local";
  created_at: string;
  last_used_at: string | null;
  current: boolean;
}

type Loaded = { devices: Device[] } | { refused: number; error: string } | null;

function NotPaired() {
  return (
    <p className="note" role="status">
      This device is not paired, so it cannot list or manage devices. <Link to="/pair">Pair this device</Link> with a code
      from <code>observatory pair</code> on the computer running Observatory.
    </p>
  );
}

function DeviceRow({ device, now, onRevoke }: { device: Device; now: number; onRevoke: (d: Device) => void }) {
  return (
    <li className="device">
      <div className="device-info">
        <span className="device-name">{device.name}</span>
        {device.current && <span className="badge">This device</span>}
        <div className="device-meta">
          {device.kind === "local" ? "Browser on the computer running Observatory · " : ""}
          Paired {new Date(device.created_at).toLocaleDateString()} ·{" "}
          {device.current ? "In use now" : `Last seen ${ago(device.last_used_at, now)}`}
        </div>
      </div>
      <button type="button" className="danger" aria-label={`Revoke ${device.name}`} onClick={() => onRevoke(device)}>
        Revoke…
      </button>
    </li>
  );
}

/** Settings → Devices: the browsers and phones that hold a credential, revocable; and pairing a new one. */
export function DevicesSection() {
  const [loaded, setLoaded] = useState<Loaded>(null);
  const [asking, setAsking] = useState<Device | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useNow(10_000);

  const load = useCallback(async () => {
    try {
      setLoaded(await api<{ devices: Device[] }>("GET", "/api/devices"));
    } catch (e) {
      setLoaded({ refused: e instanceof ApiError ? e.status : 0, error: errorText(e) });
    }
  }, []);
  useEffect(() => void load(), [load]);

  async function revoke(device: Device) {
    setAsking(null);
    setError(null);
    setMessage(null);
    try {
      await api("DELETE", `/api/devices/${encodeURIComponent(device.id)}`);
      setMessage(`${device.name} was revoked${device.current ? ": this device is no longer paired" : ""}.`);
    } catch (e) {
      setError(errorText(e));
    }
    await load();
  }

  if (loaded === null) return <p className="muted">Loading devices…</p>;
  if ("refused" in loaded)
    return (
      <>
        <Feedback message={message} error={null} />
        {loaded.refused === 401 ? <NotPaired /> : <Feedback error={loaded.error} />}
      </>
    );
  return (
    <>
      {loaded.devices.length ? (
        <ul className="devices" aria-label="Paired devices">
          {loaded.devices.map((d) => (
            <DeviceRow key={d.id} device={d} now={now} onRevoke={setAsking} />
          ))}
        </ul>
      ) : (
        <p className="note">No device is paired yet.</p>
      )}
      <Feedback message={message} error={error} />
      {config.csrfToken ? (
        <PairPhone onDone={() => void load()} />
      ) : (
        <p className="note">
          To pair a phone, run <code>observatory pair</code> on the computer running Observatory and scan the code.
        </p>
      )}
      <Dialog
        open={asking !== null}
        title={`Revoke ${asking?.name ?? "device"}?`}
        onClose={() => setAsking(null)}
        actions={
          <button type="button" className="danger" onClick={() => asking && void revoke(asking)}>
            Revoke
          </button>
        }
      >
        <p>
          {asking?.current
            ? "This is the device you are using: it stops working at once and must be paired again with a new code."
            : "It stops working at once: its next request is refused until it is paired again with a new code."}
        </p>
      </Dialog>
    </>
  );
}
